package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestSoakShort is the soak run at CI size: 10 tenants with their
// workspaces, 4 users, ingestion every 5 s, 15 s measured. The same rules
// as `make soak` must hold.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30-second run")
	}
	o, err := parseOptions([]string{"-tenants", "10", "-users", "4", "-duration", "15s", "-sample", "1s", "-interval", "5s",
		"-warmup", "3s", "-feed", "10"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := newSoak(o, &log).run(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	verdicts := rep.judge()
	var out bytes.Buffer
	rep.write(&out, verdicts)
	t.Logf("\n%s", out.String())
	for _, v := range verdicts {
		if !v.pass {
			t.Errorf("%s: %s", v.rule, v.detail)
		}
	}
	if rep.fed == 0 || rep.itemsAtEnd <= rep.itemsAfterSetup || rep.requests == 0 || rep.jobs["succeeded"] < 2*float64(o.tenants) {
		t.Errorf("the load did not happen: fed %d, items %.0f → %.0f, %d requests, jobs %v", rep.fed,
			rep.itemsAfterSetup, rep.itemsAtEnd, rep.requests, rep.jobs)
	}
}

func TestOptions(t *testing.T) {
	for _, args := range [][]string{
		{"-tenants", "0"},
		{"-duration", "5s", "-sample", "1s"},
		{"-interval", "500ms"},
		{"-user-every", "0s"},
		{"extra"},
	} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
	o, err := parseOptions(nil, io.Discard)
	if err != nil || o.tenants != 100 || o.duration != 2*time.Minute || o.warmup != o.interval {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	// Users beyond half the tier's rate limit are refused before any load.
	var stderr bytes.Buffer
	if rc := run([]string{"-tenants", "1", "-users", "40", "-user-every", "10ms", "-duration", "6s", "-sample", "1s"}, io.Discard, &stderr); rc != 1 ||
		!strings.Contains(stderr.String(), "limit") {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
}
