// Command pmassist-soak is PM Assistant's soak run: bounded, on loopback
// only, in one process. It runs the real appliance (app.Main on
// 127.0.0.1:0 with a temporary data folder) against one Slack stand-in per
// tenant, creates the tenants through the operator API, connects each to
// its own workspace through the real OAuth flow, and sets each tenant's
// ingestion interval to the shortest allowed (5 minutes) with the
// scheduler's minute shortened (app.Config.SchedulerUnit) so that the
// schedules fire every -interval. While the stand-ins keep receiving new
// messages, -users people search and list decisions and items over HTTP
// with their tenants' API tokens, paced under their tier's rate limit.
//
// During the measured phase it samples the process every -sample:
// goroutines, heap in use right after a GC, and RSS; and it reads the
// newest jobs (GET /api/v1/admin/jobs). At the end it waits until every
// tenant's search finds exactly the messages fed to its workspace, prints
// a table and judges the run by these rules (each a reason to exit 1):
//
//   - no error: no failed request (a 429 included, since users are
//     paced), no 5xx answered by the server to anyone, no line logged at
//     error level, nothing fed to a stand-in missing from search;
//   - no failed job: no ingestion job ended failed or partial;
//   - goroutines: the median of the last third of the samples is at most
//     the median of the first third + 32 + 5%;
//   - heap: the median of the last third is at most 1.25 × the median of
//     the first third + 16 MiB.
//
// Medians of thirds, not single samples, so that one burst of scheduled
// runs at a sampling moment does not decide; a leak grows them steadily.
//
//	pmassist-soak [-duration 2m] [-tenants 100] [-users 20] [-interval 10s] [-sample 3s] [-v]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

// options are the command line.
type options struct {
	duration  time.Duration // the measured phase
	warmup    time.Duration // load before the measured phase
	tenants   int
	users     int
	interval  time.Duration // every tenant's ingestion interval
	sample    time.Duration
	feedRate  float64       // new messages per second, over all workspaces
	userEvery time.Duration // one user's pause between requests
	verbose   bool
	keep      bool
	// heapProfile, when set, gets two heap profiles: FILE.first at the
	// start of the measured phase, FILE.last at its end (compare them with
	// go tool pprof -base FILE.first FILE.last).
	heapProfile string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("pmassist-soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 2*time.Minute, "length of the measured phase (after set-up and warm-up)")
	fs.DurationVar(&o.warmup, "warmup", 0, "load before the measured phase (default: one -interval)")
	fs.IntVar(&o.tenants, "tenants", 100, "tenants, each with its own Slack workspace")
	fs.IntVar(&o.users, "users", 20, "concurrent users searching and listing (spread over the tenants)")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "every tenant's scheduled ingestion interval")
	fs.DurationVar(&o.sample, "sample", 3*time.Second, "time between two samples")
	fs.Float64Var(&o.feedRate, "feed", 20, "new messages per second posted to the workspaces")
	fs.DurationVar(&o.userEvery, "user-every", 200*time.Millisecond, "one user's pause between two requests")
	fs.BoolVar(&o.verbose, "v", false, "show the appliance's log on stderr")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary data folder (its path is logged)")
	fs.StringVar(&o.heapProfile, "heapprofile", "", "write heap profiles to `FILE`.first and FILE.last, at the start and end of the measured phase")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: pmassist-soak [-duration 2m] [-tenants 100] [-users 20] [-interval 10s] [-sample 3s] [-feed 20] [-v]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.warmup == 0 {
		o.warmup = o.interval
	}
	switch {
	case o.tenants < 1:
		return o, errors.New("-tenants must be at least 1")
	case o.users < 1:
		return o, errors.New("-users must be at least 1")
	case o.sample <= 0 || o.duration < 6*o.sample:
		return o, errors.New("-duration must be at least 6 × -sample (two samples in each third)")
	case o.interval < time.Second:
		return o, errors.New("-interval must be at least 1s")
	case o.userEvery <= 0 || o.warmup < 0 || o.feedRate < 0:
		return o, errors.New("-user-every must be positive, -warmup and -feed not negative")
	}
	return o, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the exit code: 0 the run passed its rules, 1 it did not (or
// could not run), 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		fmt.Fprintln(stderr, "pmassist-soak:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := newSoak(o, stderr).run(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "pmassist-soak:", err)
		return 1
	}
	verdicts := rep.judge()
	rep.write(stdout, verdicts)
	for _, v := range verdicts {
		if !v.pass {
			return 1
		}
	}
	return 0
}
