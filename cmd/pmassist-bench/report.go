package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Units of a row's value and baseline.
const (
	unitRate    = "items/s"
	unitReqRate = "requests/s"
	unitMilli   = "ms"
	unitSec     = "s"
	unitMiB     = "MiB"
)

// row is one line of the table: a measurement beside its baseline and the
// number it must reach.
type row struct {
	Figure      int     `json:"figure"`
	Measurement string  `json:"measurement"`
	Unit        string  `json:"unit"`
	Value       float64 `json:"value"`
	// Baseline is the same work without the appliance, measured in the
	// same run; nil when the figure has none.
	Baseline *float64 `json:"baseline"`
	// Ratio is Value / Baseline.
	Ratio  *float64 `json:"ratio"`
	Target string   `json:"target"`
	Pass   bool     `json:"pass"`
	Status string   `json:"status"` // PASS, MISS, or "—" for a row without a target
}

func newRow(figure int, measurement, unit string, value float64, baseline *float64, target string, pass bool) row {
	r := row{Figure: figure, Measurement: measurement, Unit: unit, Value: value, Baseline: baseline, Target: target, Pass: pass,
		Status: "MISS"}
	if pass {
		r.Status = "PASS"
	}
	if baseline != nil && *baseline != 0 {
		ratio := value / *baseline
		r.Ratio = &ratio
	}
	return r
}

// newInfoRow is a measurement without a target of its own (figure 7's
// smaller sizes): its result is "—".
func newInfoRow(figure int, measurement, unit string, value float64, baseline *float64) row {
	r := newRow(figure, measurement, unit, value, baseline, "—", true)
	r.Status = "—"
	return r
}

func ptr(f float64) *float64 { return &f }

// formatValue prints v in unit.
func formatValue(v float64, unit string) string {
	switch unit {
	case unitRate, unitReqRate:
		return thousands(int64(math.Round(v))) + "/s"
	case unitMiB:
		return strconv.FormatFloat(v, 'f', 0, 64) + " MiB"
	case unitMilli:
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	case unitSec:
		return strconv.FormatFloat(v, 'f', 2, 64) + " s"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// thousands formats n with commas: 100000 → "100,000".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

var tableHeader = []string{"figure", "measurement", "value", "baseline", "ratio", "target", "result"}

// cells are a row's columns as printed.
func (r row) cells() []string {
	baseline, ratio := "—", "—"
	if r.Baseline != nil {
		baseline = formatValue(*r.Baseline, r.Unit)
	}
	if r.Ratio != nil {
		ratio = strconv.FormatFloat(*r.Ratio, 'f', 2, 64) + "×"
	}
	return []string{strconv.Itoa(r.Figure), r.Measurement, formatValue(r.Value, r.Unit), baseline, ratio, r.Target, r.Status}
}

// writeTable prints the rows as one Markdown table with aligned columns,
// readable in a terminal and pasted as is into docs/benchmarks.md.
func writeTable(w io.Writer, rows []row) error {
	lines := [][]string{tableHeader}
	for _, r := range rows {
		lines = append(lines, r.cells())
	}
	widths := make([]int, len(tableHeader))
	for _, l := range lines {
		for i, c := range l {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	bw := bufio.NewWriter(w)
	line := func(cells []string) {
		bw.WriteString("|")
		for i, c := range cells {
			pad := widths[i] - len([]rune(c))
			if i == 0 || i == 2 || i == 3 || i == 4 { // numbers on the right
				fmt.Fprintf(bw, " %s%s |", strings.Repeat(" ", pad), c)
			} else {
				fmt.Fprintf(bw, " %s%s |", c, strings.Repeat(" ", pad))
			}
		}
		bw.WriteString("\n")
	}
	line(lines[0])
	bw.WriteString("|")
	for i, wd := range widths {
		if i == 0 || i == 2 || i == 3 || i == 4 {
			fmt.Fprintf(bw, "%s:|", strings.Repeat("-", wd+1))
		} else {
			fmt.Fprintf(bw, "%s|", strings.Repeat("-", wd+2))
		}
	}
	bw.WriteString("\n")
	for _, l := range lines[1:] {
		line(l)
	}
	return bw.Flush()
}

// machine is what the numbers were measured on.
type machine struct {
	CPUs      int    `json:"cpus"` // nproc
	CPUModel  string `json:"cpu_model,omitempty"`
	MemoryKiB int64  `json:"memory_kib"` // MemTotal
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	// LoadAvg is /proc/loadavg's 1, 5 and 15 minute averages when the run
	// started: on a shared machine, what else was running.
	LoadAvg string `json:"load_avg,omitempty"`
}

func thisMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemoryKiB = meminfoTotal(string(raw))
	}
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(raw)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(raw)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// meminfoTotal reads MemTotal (kB) from /proc/meminfo's text.
func meminfoTotal(text string) int64 {
	for l := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

func (m machine) String() string {
	s := fmt.Sprintf("machine: %d CPUs (nproc), %.1f GiB memory (MemTotal), %s %s/%s", m.CPUs,
		float64(m.MemoryKiB)/(1<<20), m.GoVersion, m.OS, m.Arch)
	if m.CPUModel != "" {
		s += ", " + m.CPUModel
	}
	if m.LoadAvg != "" {
		s += "; load average " + m.LoadAvg + " at the start"
	}
	return s
}

// size is how big the run was.
type size struct {
	Quick       bool `json:"quick"`
	Items       int  `json:"items"`         // figure 1's tenant
	Tenants     int  `json:"other_tenants"` // figure 2's other tenants
	TenantItems int  `json:"items_per_other_tenant"`
	Queries     int  `json:"queries"`
	// APIClients send figure 3's requests for APISeconds.
	APIClients int     `json:"api_clients"`
	APISeconds float64 `json:"api_seconds"`
	// IdleTenants × IdleTenantItems is figure 4's idle appliance, measured
	// SettleSeconds after a GC.
	IdleTenants     int     `json:"idle_tenants"`
	IdleTenantItems int     `json:"items_per_idle_tenant"`
	SettleSeconds   float64 `json:"settle_seconds"`
}

func (s size) String() string {
	mode := "full"
	if s.Quick {
		mode = "quick, 1/10"
	}
	return fmt.Sprintf("size: %s items in the measured tenant, %d other tenants × %s items, %s queries (%s)",
		thousands(int64(s.Items)), s.Tenants, thousands(int64(s.TenantItems)), thousands(int64(s.Queries)), mode)
}

// report is everything the harness prints.
type report struct {
	Started  time.Time `json:"started"`
	Machine  machine   `json:"machine"`
	Size     size      `json:"size"`
	Figures  []int     `json:"figures"`
	Growth   []int     `json:"growth_sizes,omitempty"` // figure 7's
	Rows     []row     `json:"rows"`
	Duration string    `json:"duration"`
}

func (r *report) write(w io.Writer) error {
	if err := writeTable(w, r.Rows); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n%s\n", r.Machine, r.Size)
	if err == nil && len(r.Growth) > 0 {
		sizes := make([]string, len(r.Growth))
		for i, n := range r.Growth {
			sizes[i] = thousands(int64(n))
		}
		_, err = fmt.Fprintf(w, "growth (figure 7): %s items in one tenant\n", strings.Join(sizes, ", "))
	}
	return err
}

func (r *report) writeJSON(path string) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}

// percentile is the nearest-rank p-th percentile (0 < p ≤ 1) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(k, 0), len(s)-1)]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
