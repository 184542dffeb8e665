// Command pmassist-bench is PM Assistant's benchmark harness
// (spec/performance.md). It runs the real appliance (app.Main on
// 127.0.0.1:0 with a temporary data folder, its providers pointing at the
// built-in stand-ins), measures each figure through the appliance's own
// paths, measures a baseline for it in the same run on the same machine,
// and prints one table: the measurement, the baseline, their ratio, the
// number to reach and PASS or MISS.
//
// It reports; it does not judge the build: it exits 0 with a MISS, and
// non-zero only when something went wrong.
//
//	pmassist-bench [-quick] [-figures 1,2,3,4,5,6|all] [-growth 10000,100000,1000000] [-json FILE] [-cpuprofile FILE [-profile-figure N]] [-keep] [-v]
//
// Figure 7 (growth) runs only when asked for (-figures all, make
// bench-full): it takes minutes. Figure 4 runs the appliance in a child
// process (this binary, "pmassist-bench child"), so that its memory is the
// server's alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options are the command line.
type options struct {
	quick      bool
	figures    []int
	growth     []int // figure 7's sizes
	jsonPath   string
	cpuProfile string
	// profileFigure, when not 0, limits the CPU profile to that figure's
	// measurement (figures 2, 3, 5, 6 and 7; figure 1 is the run's start).
	profileFigure int
	keep          bool
	verbose       bool
}

// defaultFigures are measured by `make bench`; figure 7 (growth) only
// when asked for (-figures all or 7: `make bench-full`).
var defaultFigures = []int{1, 2, 3, 4, 5, 6}

var figureNames = map[int]string{
	1: "ingest throughput",
	2: "search latency",
	3: "API throughput",
	4: "memory",
	5: "start and rebuild",
	6: "backup under load",
	7: "growth",
}

func parseFigures(s string) ([]int, error) {
	if strings.TrimSpace(s) == "all" {
		return []int{1, 2, 3, 4, 5, 6, 7}, nil
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || figureNames[n] == "" {
			return nil, fmt.Errorf("-figures: %q is not a figure (1 to 7)", f)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("-figures: no figure given")
	}
	slices.Sort(out)
	return out, nil
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("pmassist-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.quick, "quick", false, "run at 1/10 size (under a minute)")
	figures := fs.String("figures", "1,2,3,4,5,6", "the figures to measure, comma-separated, or all (7, growth, takes minutes)")
	growth := fs.String("growth", "", "figure 7's sizes, comma-separated (default 10000,100000,1000000; -quick 1/10 of them)")
	fs.StringVar(&o.jsonPath, "json", "", "also write the rows as JSON to `FILE`")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to `FILE` (go tool pprof)")
	fs.IntVar(&o.profileFigure, "profile-figure", 0, "with -cpuprofile, profile only this figure's measurement (2, 3, 5, 6 or 7)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary data folders (their path is logged)")
	fs.BoolVar(&o.verbose, "v", false, "show the appliance's log on stderr")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: pmassist-bench [-quick] [-figures 1,2,3,4,5,6|all] [-growth SIZES] [-json FILE] [-cpuprofile FILE [-profile-figure N]] [-keep] [-v]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if o.figures, err = parseFigures(*figures); err != nil {
		return o, err
	}
	if o.profileFigure != 0 && (o.cpuProfile == "" || !slices.Contains([]int{2, 3, 5, 6, 7}, o.profileFigure) ||
		!slices.Contains(o.figures, o.profileFigure)) {
		return o, errors.New("-profile-figure: needs -cpuprofile, and one of the figures 2, 3, 5, 6 or 7 that runs")
	}
	o.growth, err = parseSizes(*growth, o.quick)
	return o, err
}

// parseSizes reads -growth: item counts, at least 100 each.
func parseSizes(s string, quick bool) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		if quick {
			return []int{1_000, 10_000, 100_000}, nil
		}
		return []int{10_000, 100_000, 1_000_000}, nil
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(f), "_", ""))
		if err != nil || n < 100 {
			return nil, fmt.Errorf("-growth: %q is not a size (a number of items, at least 100)", f)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		os.Exit(runChild(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		fmt.Fprintln(stderr, "pmassist-bench:", err)
		return 2
	}
	if o.cpuProfile != "" && o.profileFigure == 0 {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "pmassist-bench:", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "pmassist-bench:", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	b := newBench(o, stderr)
	rep, err := b.run(ctx)
	if err != nil && (rep == nil || len(rep.Rows) == 0) {
		fmt.Fprintln(stderr, "pmassist-bench:", err)
		return 1
	}
	// After an error, what was measured until then is still printed.
	if werr := rep.write(stdout); werr != nil {
		err = errors.Join(err, werr)
	}
	if o.jsonPath != "" {
		if werr := rep.writeJSON(o.jsonPath); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "pmassist-bench:", err)
		return 1
	}
	return 0
}

// sizes of a run.
func sizeFor(quick bool) size {
	if quick {
		return size{Quick: true, Items: 10_000, Tenants: 9, TenantItems: 1_000, Queries: 1_000,
			APIClients: 16, APISeconds: 1, IdleTenants: 100, IdleTenantItems: 100, SettleSeconds: 2}
	}
	return size{Items: 100_000, Tenants: 9, TenantItems: 10_000, Queries: 1_000,
		APIClients: 16, APISeconds: 10, IdleTenants: 100, IdleTenantItems: 1_000, SettleSeconds: 10}
}

func since(start time.Time) string { return time.Since(start).Round(time.Millisecond).String() }
