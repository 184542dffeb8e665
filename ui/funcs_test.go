package ui

import (
	"testing"
	"time"
)

func TestHTTPURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/a?b=c":         "https://example.com/a?b=c",
		"http://example.com":                "http://example.com",
		"HTTPS://example.com/x":             "https://example.com/x",
		" https://example.com/ ":            "https://example.com/",
		"javascript:alert(1)":               "",
		"JavaScript:alert(1)":               "",
		" javascript:alert(1)":              "",
		"java\tscript:alert(1)":             "",
		"data:text/html,<script>x</script>": "",
		"vbscript:msgbox(1)":                "",
		"ftp://example.com/file":            "",
		"//evil.example.com/":               "",
		"/relative/path":                    "",
		"https:///nohost":                   "",
		"":                                  "",
	} {
		if got := httpURL(in); got != want {
			t.Errorf("httpURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLinkURL(t *testing.T) {
	for in, want := range map[string]string{
		"/billing":             "/billing",
		"https://example.com/": "https://example.com/",
		"//evil.example.com/":  "",
		"/\\evil.example.com/": "",
		"javascript:alert(1)":  "",
		"data:,x":              "",
		"billing":              "",
	} {
		if got := linkURL(in); got != want {
			t.Errorf("linkURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRelTime(t *testing.T) {
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now.Add(-20 * time.Second), "just now"},
		{now.Add(-3 * time.Minute), "3 min ago"},
		{now.Add(-2*time.Hour - 10*time.Minute), "2 h ago"},
		{now.Add(-24 * time.Hour), "1 day ago"},
		{now.Add(-5 * 24 * time.Hour), "5 days ago"},
		{now.Add(6*24*time.Hour + time.Hour), "in 6 days"},
		{now.Add(30 * time.Second), "in less than a minute"},
		{now.Add(-45 * 24 * time.Hour), "28 Jan 2025"},
	} {
		if got := relTime(tc.t, now); got != tc.want {
			t.Errorf("relTime(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestFormatInt(t *testing.T) {
	for in, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := formatInt(in); got != want {
			t.Errorf("formatInt(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestMeter(t *testing.T) {
	for _, tc := range []struct {
		used, limit int
		pct         int
		level       string
		unlimited   bool
	}{
		{0, 100, 0, "ok", false},
		{25, 100, 25, "ok", false},
		{1, 10000, 1, "ok", false},
		{85, 100, 85, "warn", false},
		{100, 100, 100, "full", false},
		{150, 100, 100, "full", false},
		{0, 0, 0, "ok", false},
		{3, 0, 100, "full", false},
		{3, -1, 0, "ok", true},
	} {
		m := newMeter("x", tc.used, tc.limit)
		if m.Pct != tc.pct || m.Level != tc.level || m.Unlimited != tc.unlimited {
			t.Errorf("newMeter(%d, %d) = %+v, want pct %d level %s unlimited %v",
				tc.used, tc.limit, m, tc.pct, tc.level, tc.unlimited)
		}
	}
}

func TestInitial(t *testing.T) {
	for in, want := range map[string]string{"ada": "A", "  émile": "É", "<b>": "B", "": "?", "42": "4"} {
		if got := initial(in); got != want {
			t.Errorf("initial(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewFieldRejectsUnknownOption(t *testing.T) {
	if _, err := newField("a", "A", "text", "", nil, "requird"); err == nil {
		t.Error("unknown option accepted")
	}
	f, err := newField("a", "A", "text", "v", FormErrors{"a": "bad"}, "required", "hint=h")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Required || f.Error != "bad" || f.DescribedBy() != "f-a-hint f-a-error" {
		t.Errorf("newField = %+v", f)
	}
}

func TestHealth(t *testing.T) {
	for status, want := range map[string][2]string{
		"connected":    {"ok", "Connected"},
		"needs_reauth": {"warn", "Needs reconnecting"},
		"error":        {"error", "Error"},
		"":             {"neutral", "Unknown"},
		"paused":       {"warn", "Paused (over the plan)"},
		"weird":        {"neutral", "weird"},
	} {
		if k, txt := healthKind(status), healthText(status); k != want[0] || txt != want[1] {
			t.Errorf("health(%q) = %q, %q; want %q, %q", status, k, txt, want[0], want[1])
		}
	}
}

func TestErrorsIf(t *testing.T) {
	e := FormErrors{"a": "bad"}
	if errorsIf(false, e) != nil || errorsIf(true, e)["a"] != "bad" {
		t.Error("errorsIf")
	}
}

func TestNewFieldID(t *testing.T) {
	f, err := newField("a", "A", "text", "", FormErrors{"a": "bad"}, "id=x-a", "hint=h")
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != "x-a" || f.DescribedBy() != "x-a-hint x-a-error" {
		t.Errorf("newField = %+v", f)
	}
	if _, err := newField("a", "A", "text", "", nil, "id="); err == nil {
		t.Error("empty id accepted")
	}
}
