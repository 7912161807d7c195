package server

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/ktriage/ktriage/fleet/store"
	"github.com/ktriage/ktriage/render"
	"github.com/ktriage/ktriage/triage"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"day":  func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
}).ParseFS(templateFS, "templates/*.html"))

// plotDays is how many days the dashboard's plots span.
const plotDays = 30

// plot draws crashes per day as an SVG bar chart of n days ending at end.
// Every text in it is escaped; the result is safe HTML.
func plot(days []store.DayCount, end time.Time, n, width, height int, labels bool) template.HTML {
	counts := map[string]int64{}
	for _, d := range days {
		counts[d.Day] = d.Count
	}
	end = end.UTC().Truncate(24 * time.Hour)
	var max int64 = 1
	series := make([]store.DayCount, n)
	for i := 0; i < n; i++ {
		day := end.AddDate(0, 0, i-n+1).Format(time.DateOnly)
		series[i] = store.DayCount{Day: day, Count: counts[day]}
		if counts[day] > max {
			max = counts[day]
		}
	}
	pad := 0
	if labels {
		pad = 14
	}
	plotH := height - 2*pad
	bw := float64(width) / float64(n)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`, width, height, width, height)
	for i, d := range series {
		h := float64(plotH) * float64(d.Count) / float64(max)
		if d.Count > 0 && h < 1 {
			h = 1
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d</title></rect>`,
			float64(i)*bw+0.5, float64(pad+plotH)-h, bw-1, h, html.EscapeString(d.Day), d.Count)
	}
	if labels {
		fmt.Fprintf(&b, `<text x="0" y="10">max %d/day</text>`, max)
		fmt.Fprintf(&b, `<text x="0" y="%d">%s</text>`, height-2, html.EscapeString(series[0].Day))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, width, height-2, html.EscapeString(series[n-1].Day))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built above from numbers and escaped text only
}

func (s *Server) renderPage(w http.ResponseWriter, name string, data any) error {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("rendering %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'")
	_, err := buf.WriteTo(w)
	return err
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	order, err := store.ParseSort(r.URL.Query().Get("sort"))
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	tot, err := s.st.Totals(ctx)
	if err != nil {
		return err
	}
	bs, err := s.st.Buckets(ctx, order, 500)
	if err != nil {
		return err
	}
	fleet, err := s.st.FleetDays(ctx)
	if err != nil {
		return err
	}
	kernels, err := s.st.Kernels(ctx)
	if err != nil {
		return err
	}
	// The plots end on the latest day with a crash, so that an old
	// history still shows; the dates are on the fleet plot.
	end := s.opt.Now()
	if len(fleet) > 0 {
		if t, err := time.Parse(time.DateOnly, fleet[len(fleet)-1].Day); err == nil {
			end = t
		}
	}
	since := end.AddDate(0, 0, 1-plotDays).Format(time.DateOnly)
	perBucket, err := s.st.DaysSince(ctx, since)
	if err != nil {
		return err
	}
	sparks := map[string]template.HTML{}
	for _, b := range bs {
		sparks[b.Signature] = plot(perBucket[b.Signature], end, plotDays, 120, 20, false)
	}
	return s.renderPage(w, "index.html", map[string]any{
		"Totals":    tot,
		"Buckets":   bs,
		"Kernels":   kernels,
		"FleetPlot": plot(fleet, end, plotDays, 600, 120, true),
		"Sparks":    sparks,
	})
}

func (s *Server) handleBucketPage(w http.ResponseWriter, r *http.Request) error {
	sig := r.PathValue("signature")
	if !validSignature(sig) {
		return fail(http.StatusNotFound, "no bucket %q", sig)
	}
	b, err := s.st.Bucket(r.Context(), sig)
	if err != nil {
		return err
	}
	rem, err := s.remedy(b.KBID)
	if err != nil {
		return err
	}
	data := map[string]any{
		"B":      b,
		"Plot":   plot(b.Days, b.LastSeen, plotDays, 600, 120, true),
		"Remedy": rem,
	}
	if len(b.Samples) > 0 {
		sm := b.Samples[0]
		var d triage.Diagnosis
		if err := json.Unmarshal(sm.Diagnosis, &d); err != nil {
			return fmt.Errorf("bucket %s sample %d: %w", sig, sm.ID, err)
		}
		var text bytes.Buffer
		if err := render.Text(&text, &d, render.Style{}); err != nil {
			return fmt.Errorf("bucket %s sample %d: %w", sig, sm.ID, err)
		}
		data["Text"] = text.String()
		if len(d.Reports) > 0 {
			rep, err := json.MarshalIndent(d.Reports[0], "", "  ")
			if err != nil {
				return err
			}
			data["Sample"] = string(rep)
		}
		data["SampleHost"], data["SampleAt"] = sm.Host, sm.At
	}
	return s.renderPage(w, "bucket.html", data)
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) error {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return err
	}
	http.StripPrefix("/static/", http.FileServerFS(sub)).ServeHTTP(w, r)
	return nil
}
