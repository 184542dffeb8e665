package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/internal/apiclient"
)

// The bounds of the rules (see the package comment).
const (
	goroutineSlack      = 32   // goroutines …
	goroutineSlackShare = 0.05 // … + this share of the first third's median
	heapFactor          = 1.25
	heapSlack           = 16 << 20 // bytes
)

// report is what a run measured.
type report struct {
	o       options
	samples []sample

	goroutinesBefore, goroutinesAfter int // before the appliance opened, after everything closed
	itemsAfterSetup, itemsAtEnd       float64
	fed, found                        int
	jobs                              map[string]float64 // by final status (metrics)
	failedJobs                        []apiclient.Job    // seen in GET /api/v1/admin/jobs
	latencies                         map[string][]time.Duration
	requests                          int64
	httpErrs, rate429                 int
	server5xx                         float64
	logErrors, logWarns               int
	logLines                          []string
	errs                              []string
}

// verdict is one rule's outcome.
type verdict struct {
	rule   string
	pass   bool
	detail string
}

// thirds returns the medians of the first, middle and last third of the
// samples by f.
func (r *report) thirds(f func(sample) float64) (first, mid, last float64) {
	n := len(r.samples)
	k := n / 3
	med := func(ss []sample) float64 {
		if len(ss) == 0 {
			return 0
		}
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return med(r.samples[:k]), med(r.samples[k : n-k]), med(r.samples[n-k:])
}

func goroutinesOf(s sample) float64 { return float64(s.goroutines) }
func heapOf(s sample) float64       { return float64(s.heap) }
func rssOf(s sample) float64        { return float64(s.rss) }

// judge applies the rules.
func (r *report) judge() []verdict {
	var out []verdict
	errs := r.httpErrs + len(r.errs) + r.logErrors + int(r.server5xx)
	out = append(out, verdict{"no error", errs == 0 && r.fed == r.found,
		fmt.Sprintf("%d failed requests (%d of them 429), %.0f server 5xx, %d error log lines, %d other errors; %d of %d new messages found",
			r.httpErrs, r.rate429, r.server5xx, r.logErrors, len(r.errs), r.found, r.fed)})
	failed := r.jobs[pmassist.JobFailed] + r.jobs[pmassist.JobPartial]
	out = append(out, verdict{"no failed job", failed == 0 && len(r.failedJobs) == 0,
		fmt.Sprintf("%.0f failed and %.0f partial (metrics), %d seen in /admin/jobs", r.jobs[pmassist.JobFailed],
			r.jobs[pmassist.JobPartial], len(r.failedJobs))})
	g0, _, g1 := r.thirds(goroutinesOf)
	gMax := g0 + goroutineSlack + goroutineSlackShare*g0
	out = append(out, verdict{"goroutines steady", g1 <= gMax,
		fmt.Sprintf("last third %.0f ≤ first third %.0f + %d + %.0f%% = %.0f", g1, g0, goroutineSlack, goroutineSlackShare*100, gMax)})
	h0, _, h1 := r.thirds(heapOf)
	hMax := heapFactor*h0 + heapSlack
	out = append(out, verdict{"heap steady", h1 <= hMax,
		fmt.Sprintf("last third %s ≤ %.2f × first third %s + %s = %s", mib(uint64(h1)), heapFactor, mib(uint64(h0)),
			mib(heapSlack), mib(uint64(hMax)))})
	return out
}

// write prints the table, the details of what went wrong and the verdicts.
func (r *report) write(w io.Writer, verdicts []verdict) {
	o := r.o
	fmt.Fprintf(w, "pmassist-soak: %d tenants, %d users (a request each every %s), ingestion every %s, %.0f new messages/s; measured %s after %s of warm-up, %d samples\n\n",
		o.tenants, o.users, o.userEvery, o.interval, o.feedRate, o.duration, o.warmup, len(r.samples))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "median of each third\tstart\tmid\tend\t")
	g0, g1, g2 := r.thirds(goroutinesOf)
	fmt.Fprintf(tw, "goroutines\t%.0f\t%.0f\t%.0f\t\n", g0, g1, g2)
	h0, h1, h2 := r.thirds(heapOf)
	fmt.Fprintf(tw, "heap after GC\t%s\t%s\t%s\t\n", mib(uint64(h0)), mib(uint64(h1)), mib(uint64(h2)))
	s0, s1, s2 := r.thirds(rssOf)
	fmt.Fprintf(tw, "RSS\t%s\t%s\t%s\t\n", mib(uint64(s0)), mib(uint64(s1)), mib(uint64(s2)))
	_ = tw.Flush()
	fmt.Fprintln(w)

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "items ingested\t%.0f (%.0f by the first runs, %.0f during the load)\n", r.itemsAtEnd, r.itemsAfterSetup, r.itemsAtEnd-r.itemsAfterSetup)
	fmt.Fprintf(tw, "new messages\t%d fed to the stand-ins, %d found by search at the end\n", r.fed, r.found)
	fmt.Fprintf(tw, "ingestion jobs\t%.0f succeeded, %.0f partial, %.0f failed\n", r.jobs[pmassist.JobSucceeded], r.jobs[pmassist.JobPartial], r.jobs[pmassist.JobFailed])
	fmt.Fprintf(tw, "user requests\t%d in the measured phase\n", r.requests)
	for _, kind := range []string{"search", "decisions", "items"} {
		ds := r.latencies[kind]
		fmt.Fprintf(tw, "  %s\t%d, p50 %s, p99 %s\n", kind, len(ds), ms(percentile(ds, 0.50)), ms(percentile(ds, 0.99)))
	}
	fmt.Fprintf(tw, "errors\t%d failed requests (%d of them 429), %.0f server 5xx, %d error and %d warning log lines\n",
		r.httpErrs, r.rate429, r.server5xx, r.logErrors, r.logWarns)
	fmt.Fprintf(tw, "goroutines\t%d before the appliance opened, %d after it closed\n", r.goroutinesBefore, r.goroutinesAfter)
	_ = tw.Flush()

	if len(r.errs) > 0 {
		fmt.Fprintln(w, "\nfirst errors:")
		for _, e := range r.errs {
			fmt.Fprintln(w, "  "+e)
		}
	}
	if len(r.failedJobs) > 0 {
		fmt.Fprintln(w, "\nfailed jobs:")
		for i, j := range r.failedJobs {
			if i == maxKeptMessages {
				break
			}
			fmt.Fprintf(w, "  %s tenant %s: %s: %s\n", j.ID, j.TenantID, j.Status, j.Error)
		}
	}
	if len(r.logLines) > 0 {
		fmt.Fprintln(w, "\nfirst warning and error log lines:")
		for _, l := range r.logLines {
			fmt.Fprintln(w, "  "+l)
		}
	}
	fmt.Fprintln(w)
	for _, v := range verdicts {
		word := "PASS"
		if !v.pass {
			word = "FAIL"
		}
		fmt.Fprintf(w, "%s  %-18s %s\n", word, v.rule, v.detail)
	}
}

// percentile is the p-quantile of ds (nearest rank), or 0.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
