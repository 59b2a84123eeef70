package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// recordWidth is the width of the record column of the text form.
const recordWidth = 40

// ANSI colours of the text form on a terminal.
const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	dim    = "\x1b[2m"
	reset  = "\x1b[0m"
)

// writer prints record reports, as text or as JSON (one object per line).
type writer interface {
	write(*recordReport) error
}

type jsonWriter struct{ enc *json.Encoder }

func newJSONWriter(w io.Writer) *jsonWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // the events stay byte for byte what is sent
	return &jsonWriter{enc: enc}
}

func (j *jsonWriter) write(r *recordReport) error { return j.enc.Encode(r) }

// textWriter prints one line per record and rule, in aligned columns:
//
//	span GET /api/v1/status  [b7ad6b71]   api-request      match    {"uuid":…}
//	span GET /api/v1/status  [b7ad6b71]   engine-executed  no       conditions[0]: span.name == "engine.execute" is false
type textWriter struct {
	w         io.Writer
	color     bool
	ruleWidth int
}

func (t *textWriter) write(r *recordReport) error {
	label := recordLabel(&r.Record)
	var b strings.Builder
	for _, rule := range r.Rules {
		status, colour, detail := describe(&rule)
		b.WriteString(pad(label, recordWidth))
		b.WriteString("  ")
		b.WriteString(pad(rule.Rule, t.ruleWidth))
		b.WriteString("  ")
		if t.color {
			b.WriteString(colour)
		}
		b.WriteString(pad(status, 7))
		if t.color {
			b.WriteString(reset)
		}
		b.WriteString("  ")
		b.WriteString(detail)
		b.WriteString("\n")
		for _, absent := range rule.Absent {
			b.WriteString(pad(label, recordWidth) + "  " + pad(rule.Rule, t.ruleWidth) + "  ")
			if t.color {
				b.WriteString(yellow + pad("absent", 7) + reset)
			} else {
				b.WriteString(pad("absent", 7))
			}
			b.WriteString("  " + absent + "\n")
		}
	}
	if note := contextNote(&r.Record); note != "" {
		b.WriteString(pad(label, recordWidth))
		b.WriteString("  ")
		b.WriteString(note)
		b.WriteString("\n")
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

// contextNote says, with trace_context, whether a span waited for its trace
// and what it inherited from it; "" when neither.
func contextNote(r *recordInfo) string {
	var parts []string
	if r.waited {
		parts = append(parts, "waited for its trace")
	}
	if len(r.Inherited) > 0 {
		keys := slices.Sorted(maps.Keys(r.Inherited))
		for i, k := range keys {
			v, _ := json.Marshal(r.Inherited[k])
			keys[i] = k + "=" + string(v)
		}
		parts = append(parts, "inherited from its trace: "+strings.Join(keys, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, "; ") + ")"
}

// recordLabel names a record in one column: kind, name, and the start of its span id.
func recordLabel(r *recordInfo) string {
	name := r.Name
	if name == "" && r.body != "" {
		name = fmt.Sprintf("%q", r.body)
	}
	id := ""
	if len(r.SpanID) >= 8 {
		id = " [" + r.SpanID[:8] + "]"
	}
	return string(r.Kind) + " " + truncate(name, recordWidth-len(r.Kind)-1-len(id)) + id
}

// describe gives a rule's status word, its colour and what to print after it.
func describe(r *ruleReport) (status, colour, detail string) {
	switch {
	case r.Matched && r.Dropped != nil:
		detail = "dropped: " + *r.Dropped
		if r.Error != nil {
			detail += ": " + *r.Error
		}
		return "dropped", yellow, detail
	case r.Matched:
		events := make([]string, len(r.Events))
		for i, e := range r.Events {
			events[i] = string(e)
		}
		return "match", green, strings.Join(events, " ")
	case r.Error != nil:
		if r.Failed != nil {
			detail = fmt.Sprintf("conditions[%d]: %s: ", r.Failed.Condition, r.Failed.Term)
		}
		return "error", red, detail + *r.Error
	case r.Failed != nil:
		line := fmt.Sprintf("conditions[%d]: %s is false", r.Failed.Condition, r.Failed.Term)
		if r.Failed.Compared != "" {
			line += ": " + r.Failed.Compared
		}
		return "no", dim, line
	}
	return "no", dim, ""
}

func pad(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

func truncate(s string, width int) string {
	if width < 1 {
		return ""
	}
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// colorWanted reports whether f is a terminal and NO_COLOR is not set.
func colorWanted(f *os.File) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
