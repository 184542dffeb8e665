package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pmassist/pmassist/internal/apiclient"
)

// Figure 3: API throughput. Concurrent keep-alive clients send
// GET /api/v1/decision-logs?limit=50 with a bearer token to the appliance
// for a while, then the same requests to a bare net/http server whose
// handler writes the bytes the appliance answered.

const (
	decisionLogsPath = "/api/v1/decision-logs?limit=50"
	// apiWarmupShare of the measured period goes before it, on both
	// sides, uncounted: the caches are warm.
	apiWarmupShare = 0.1
)

// figure3 measures the requests per second of the appliance and of the
// bare handler.
func (b *bench) figure3(ctx context.Context) error {
	// One request first: the answer the bare handler will write.
	api := apiclient.New(b.base, 4)
	api.Token = b.acme.token
	req, err := http.NewRequestWithContext(ctx, "GET", b.base+decisionLogsPath, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.acme.token)
	res, err := api.HTTP.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return &apiclient.StatusError{Method: "GET", Path: decisionLogsPath, Status: res.StatusCode, Want: http.StatusOK, Body: string(body)}
	}
	var page struct {
		Decisions []json.RawMessage `json:"decision_logs"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return fmt.Errorf("decision-logs: %w", err)
	}
	if len(page.Decisions) != 50 {
		return fmt.Errorf("decision-logs: %d decisions in the answer, want 50", len(page.Decisions))
	}
	contentType := res.Header.Get("Content-Type")

	clients, d := b.size.APIClients, time.Duration(b.size.APISeconds*float64(time.Second))
	app, err := hammer(ctx, b.base+decisionLogsPath, b.acme.token, clients, d)
	if err != nil {
		return fmt.Errorf("appliance: %w", err)
	}
	b.logf("appliance: %d requests in %s by %d clients (%.0f/s), %d bytes each", app.requests,
		app.took.Round(time.Millisecond), clients, app.rate(), len(body))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bare := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})}
	go func() { _ = bare.Serve(ln) }()
	defer bare.Close()
	base, err := hammer(ctx, "http://"+ln.Addr().String()+decisionLogsPath, b.acme.token, clients, d)
	if err != nil {
		return fmt.Errorf("bare handler: %w", err)
	}
	b.logf("bare handler: %d requests in %s (%.0f/s)", base.requests, base.took.Round(time.Millisecond), base.rate())

	b.rows = append(b.rows, newRow(3, fmt.Sprintf("GET decision-logs?limit=50, %d clients", clients), unitReqRate,
		app.rate(), ptr(base.rate()), fmt.Sprintf("≥ %g× baseline", apiMinRatio), app.rate() >= apiMinRatio*base.rate()))
	return nil
}

// hammerResult is what the clients got done.
type hammerResult struct {
	requests int64
	took     time.Duration
}

func (h hammerResult) rate() float64 { return float64(h.requests) / h.took.Seconds() }

// hammer has clients clients, each with its own keep-alive connection,
// send GET url with the bearer token one request after the other: first
// for a tenth of d (warm-up, not counted), then for d (new connections,
// opened once per client). Every answer must
// be 200 and is read to the end. The time runs until the last client's
// last request has been answered.
func hammer(ctx context.Context, url, token string, clients int, d time.Duration) (hammerResult, error) {
	run := func(d time.Duration) (hammerResult, error) {
		var (
			count    atomic.Int64
			wg       sync.WaitGroup
			mu       sync.Mutex
			firstErr error
		)
		start := time.Now()
		deadline := start.Add(d)
		for range clients {
			wg.Go(func() {
				if err := hammerClient(ctx, url, token, deadline, &count); err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return hammerResult{requests: count.Load(), took: time.Since(start)}, firstErr
	}
	if _, err := run(time.Duration(apiWarmupShare * float64(d))); err != nil {
		return hammerResult{}, err
	}
	return run(d)
}

// hammerClient sends requests until deadline, each on the same connection.
func hammerClient(ctx context.Context, url, token string, deadline time.Time, count *atomic.Int64) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: HTTP %d", url, res.StatusCode)
		}
		count.Add(1)
	}
	return nil
}
