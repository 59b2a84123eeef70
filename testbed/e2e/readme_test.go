package e2e

// The user docs, README.md and docs/*.md, are checked here, so that they
// cannot rot:
//
//   - every ```yaml block is a config the built collector accepts, once
//     placed as its marker says (TestDocsExamplesValidate);
//   - every relative link names a file of the repository, resolved from the
//     linking file's own folder, and every #anchor a heading of the file it
//     points into, by GitHub's slug rules; no link leaves the repository
//     (TestDocsLinks);
//   - every docs/*.md page is linked from README.md, so a newcomer finds it
//     (TestDocsReachableFromReadme).
//
// What a yaml block is, is said by an HTML comment on the line just before
// its fence (blank lines between are allowed); the comment does not show on
// GitHub:
//
//	(no marker)                              a complete collector config, validated as is
//	<!-- readme-check: collector-fragment --> part of a collector config: merged over a
//	                                          minimal one (an otlp receiver, a posthog
//	                                          exporter with an api_key, traces and logs
//	                                          pipelines from otlp to posthog), then validated
//	<!-- readme-check: exporter-fragment -->  keys of the posthog exporter (spans:, logs:,
//	                                          defaults:, ...): placed under
//	                                          exporters::posthog of that minimal config
//	<!-- readme-check: ocb-manifest -->       an ocb manifest: built with the repository's
//	                                          ocb by TestDocsManifestBuilds; exactly one
//	                                          block of all the docs is one
//	<!-- readme-check: validated-by-eye -->   a config for a collector that cannot be built
//	                                          here (contrib's loadbalancing exporter): only
//	                                          parsed as YAML, checked by eye
//
// Merging is deep for maps; the block's values win. Configs are validated
// with `otelcol-posthog validate` and POSTHOG_API_KEY set, so
// ${env:POSTHOG_API_KEY} resolves. A block that fails is a test failure that
// names the file and line of its fence (docs/rules.md:256).

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"
)

// repoRoot is the repository, from this package's directory.
const repoRoot = "../.."

// Marker kinds of yaml blocks.
const (
	kindConfig            = ""
	kindCollectorFragment = "collector-fragment"
	kindExporterFragment  = "exporter-fragment"
	kindOCBManifest       = "ocb-manifest"
	kindByEye             = "validated-by-eye"
)

// docFiles returns the user docs, as paths relative to the repository root
// with forward slashes: README.md, then docs/*.md in name order.
func docFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md"}
	for _, p := range pages {
		files = append(files, "docs/"+filepath.Base(p))
	}
	return files
}

// fence is one fenced code block of a Markdown file.
type fence struct {
	line int    // of the opening fence, 1-based
	lang string // the info string after ```: "yaml", "sh", "" ...
	text string // the body, with the fence's own indentation removed
}

// mdFile is a Markdown file split into its fenced blocks and its prose: the
// prose has one entry per line of the file, "" for a line of a fenced block,
// so that headings and links are only looked for outside code.
type mdFile struct {
	name   string // relative to the repository root, e.g. docs/rules.md
	lines  []string
	fences []fence
	prose  []string
}

func readMarkdown(t *testing.T, name string) mdFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	f := mdFile{name: name, lines: strings.Split(string(data), "\n")}
	f.prose = slices.Clone(f.lines)
	for i := 0; i < len(f.lines); i++ {
		open := strings.TrimSpace(f.lines[i])
		if !strings.HasPrefix(open, "```") {
			continue
		}
		indent := len(f.lines[i]) - len(strings.TrimLeft(f.lines[i], " "))
		start := i
		var body []string
		for i++; i < len(f.lines) && strings.TrimSpace(f.lines[i]) != "```"; i++ {
			// A block inside a list item is indented like its fence.
			line := f.lines[i]
			body = append(body, line[min(indent, len(line)-len(strings.TrimLeft(line, " "))):])
		}
		for j := start; j <= i && j < len(f.lines); j++ {
			f.prose[j] = ""
		}
		f.fences = append(f.fences, fence{
			line: start + 1,
			lang: strings.TrimSpace(strings.TrimPrefix(open, "```")),
			text: strings.Join(body, "\n") + "\n",
		})
	}
	return f
}

// docBlock is one ```yaml block of the docs.
type docBlock struct {
	file string // e.g. docs/rules.md
	line int    // of the opening fence, 1-based
	kind string // the marker's kind; "" without a marker
	text string
}

// where is the block's place for messages: docs/rules.md:256.
func (b docBlock) where() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

var markerRE = regexp.MustCompile(`^<!--\s*readme-check:\s*([a-z-]+)\s*-->$`)

// yamlBlocks returns the yaml blocks of one doc file with their markers. A
// malformed marker, or a marker that is not followed by a yaml block, is a
// test error.
func yamlBlocks(t *testing.T, name string) []docBlock {
	t.Helper()
	f := readMarkdown(t, name)
	var blocks []docBlock
	for _, fc := range f.fences {
		if fc.lang != "yaml" && fc.lang != "yml" {
			continue
		}
		b := docBlock{file: name, line: fc.line, text: fc.text}
		for j := fc.line - 2; j >= 0; j-- {
			prev := strings.TrimSpace(f.lines[j])
			if prev == "" {
				continue
			}
			if m := markerRE.FindStringSubmatch(prev); m != nil {
				b.kind = m[1]
			} else if strings.Contains(prev, "readme-check") {
				t.Errorf("%s:%d: malformed marker %q; write <!-- readme-check: KIND -->", name, j+1, prev)
			}
			break
		}
		blocks = append(blocks, b)
	}
	// A marker must mark something: the next non-blank line is a yaml fence.
	for i, line := range f.lines {
		if !markerRE.MatchString(strings.TrimSpace(line)) {
			continue
		}
		next := ""
		for _, l := range f.lines[i+1:] {
			if next = strings.TrimSpace(l); next != "" {
				break
			}
		}
		if next != "```yaml" && next != "```yml" {
			t.Errorf("%s:%d: marker %q is not followed by a ```yaml block", name, i+1, strings.TrimSpace(line))
		}
	}
	return blocks
}

// allYAMLBlocks returns the yaml blocks of every doc file.
func allYAMLBlocks(t *testing.T) []docBlock {
	t.Helper()
	var all []docBlock
	for _, name := range docFiles(t) {
		all = append(all, yamlBlocks(t, name)...)
	}
	return all
}

// minimalConfig is what fragments are merged over.
func minimalConfig() map[string]any {
	pipeline := func() map[string]any {
		return map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"posthog"}}
	}
	return map[string]any{
		"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{
			"http": map[string]any{"endpoint": "127.0.0.1:4318"},
		}}},
		"exporters": map[string]any{"posthog": map[string]any{"api_key": "${env:POSTHOG_API_KEY}"}},
		"service": map[string]any{"pipelines": map[string]any{
			"traces": pipeline(),
			"logs":   pipeline(),
		}},
	}
}

// merge puts over on top of base, deeply for maps.
func merge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = merge(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

// configOf returns the collector config a block stands for.
func configOf(b docBlock) (string, error) {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(b.text), &m); err != nil {
		return "", fmt.Errorf("not YAML: %w", err)
	}
	switch b.kind {
	case kindConfig:
		return b.text, nil
	case kindCollectorFragment:
		m = merge(minimalConfig(), m)
	case kindExporterFragment:
		m = merge(minimalConfig(), map[string]any{"exporters": map[string]any{"posthog": m}})
	default:
		return "", fmt.Errorf("unknown marker kind %q (want %s, %s, %s, %s or none)",
			b.kind, kindCollectorFragment, kindExporterFragment, kindOCBManifest, kindByEye)
	}
	out, err := yaml.Marshal(m)
	return string(out), err
}

// TestDocsExamplesValidate: every YAML example of the README and of
// docs/*.md is a config that `otelcol-posthog validate` accepts, once
// placed as its marker says.
func TestDocsExamplesValidate(t *testing.T) {
	bin := collectorBin(t)
	blocks := allYAMLBlocks(t)
	if len(blocks) == 0 {
		t.Fatal("no yaml blocks found in the docs")
	}
	for _, b := range blocks {
		switch b.kind {
		case kindOCBManifest:
			continue // built by TestDocsManifestBuilds
		case kindByEye:
			var m map[string]any
			if err := yaml.Unmarshal([]byte(b.text), &m); err != nil {
				t.Errorf("%s (%s): not YAML: %v", b.where(), kindByEye, err)
			}
			continue
		}
		t.Run(b.where(), func(t *testing.T) {
			t.Parallel()
			cfg, err := configOf(b)
			if err != nil {
				t.Fatalf("%s: %v", b.where(), err)
			}
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := runValidate(t, bin, path, "POSTHOG_API_KEY=phc_readme")
			if err != nil {
				t.Errorf("%s (%s) does not validate: %v\n%s\nconfig:\n%s", b.where(), kindName(b.kind), err, out, cfg)
			}
		})
	}
}

func kindName(kind string) string {
	if kind == kindConfig {
		return "a complete config: no marker"
	}
	return kind
}

// TestDocsMarkers: the fragment wrapper and the merge work as documented
// above, and a block with a broken rule does fail (so the test above can).
func TestDocsMarkers(t *testing.T) {
	cfg, err := configOf(docBlock{kind: kindExporterFragment, text: "spans: []\n"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(cfg), &m); err != nil {
		t.Fatal(err)
	}
	ph := m["exporters"].(map[string]any)["posthog"].(map[string]any)
	if ph["api_key"] != "${env:POSTHOG_API_KEY}" || ph["spans"] == nil {
		t.Errorf("exporter fragment not placed under exporters::posthog: %v", ph)
	}
	if _, err := configOf(docBlock{kind: "fragment", text: "a: 1\n"}); err == nil {
		t.Error("an unknown marker kind was accepted")
	}
	bin := collectorBin(t)
	cfg, err = configOf(docBlock{kind: kindExporterFragment, text: "spans:\n  - {event: e, distinct_id: ['\"x\"'], condition: ['span.name == \"x\"']}\n"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runValidate(t, bin, path, "POSTHOG_API_KEY=phc_readme")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(out, "spans[0].condition: unknown key") {
		t.Errorf("a misspelled key in a fragment validated (err %v):\n%s", err, out)
	}
}

// docsManifest returns the docs' ocb manifest: the one block of README.md
// and docs/*.md marked <!-- readme-check: ocb-manifest -->.
func docsManifest(t *testing.T) docBlock {
	t.Helper()
	var found []docBlock
	var where []string
	for _, b := range allYAMLBlocks(t) {
		if b.kind == kindOCBManifest {
			found = append(found, b)
			where = append(where, b.where())
		}
	}
	if len(found) != 1 {
		t.Fatalf("the docs have %d blocks marked %s (%s), want 1", len(found), kindOCBManifest, strings.Join(where, ", "))
	}
	return found[0]
}

// Links and anchors.

var (
	// linkRE finds inline links and images: [text](target).
	linkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// codeSpanRE finds inline code, where brackets are no link.
	codeSpanRE = regexp.MustCompile("`[^`]*`")
	// headingRE finds ATX headings; the text is m[1].
	headingRE = regexp.MustCompile(`^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$`)
	// headingLinkRE is a link inside a heading; GitHub's slug keeps its text.
	headingLinkRE = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// docLink is one link of a doc file.
type docLink struct {
	line   int
	target string
}

func (f mdFile) links() []docLink {
	var links []docLink
	for i, line := range f.prose {
		line = codeSpanRE.ReplaceAllString(line, "")
		for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
			links = append(links, docLink{line: i + 1, target: m[1]})
		}
	}
	return links
}

// anchors returns the anchors GitHub gives the headings of f.
func (f mdFile) anchors() map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, line := range f.prose {
		m := headingRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s := slug(headingLinkRE.ReplaceAllString(m[1], "$1"))
		// A repeated heading gets -1, -2, ... on GitHub.
		if n := seen[s]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			anchors[s] = true
		}
		seen[s]++
	}
	return anchors
}

// slug is GitHub's anchor for a heading: lower case, each space a hyphen,
// every character but letters, marks, digits, hyphens and connector
// punctuation (the underscore) left out.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.Pc):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestDocsSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Properties: precedence and reserved keys":        "properties-precedence-and-reserved-keys",
		"With trace_context":                              "with-trace_context",
		"Identity, deduplication and cost":                "identity-deduplication-and-cost",
		"What `make demo` shows":                          "what-make-demo-shows",
		"Trace context: identity from anywhere (v0.1.0)!": "trace-context-identity-from-anywhere-v010",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
	f := mdFile{prose: []string{"# A", "```", "## A", "### [Link](x.md) here #", "#no heading"}}
	f.prose[1], f.prose[2] = "", "" // as readMarkdown leaves a fenced block
	f.prose = append(f.prose, "## A")
	want := map[string]bool{"a": true, "link-here": true, "a-1": true}
	if got := f.anchors(); !maps.Equal(got, want) {
		t.Errorf("anchors = %v, want %v", got, want)
	}
}

// resolve returns the repository path (slash-separated, from the root) a
// relative link of file names, and its anchor; external says the link is a
// web address. A link that would leave the repository is an error.
func resolve(file, target string) (repoPath, anchor string, external bool, err error) {
	if u, perr := url.Parse(target); perr == nil && u.Scheme != "" {
		if u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "mailto" {
			return "", "", true, nil
		}
		return "", "", false, fmt.Errorf("scheme %q points outside the repository", u.Scheme)
	}
	p, anchor, _ := strings.Cut(target, "#")
	if p, err = url.PathUnescape(p); err != nil {
		return "", "", false, err
	}
	if p == "" {
		return file, anchor, false, nil // an anchor of the file itself
	}
	if strings.HasPrefix(p, "/") {
		return "", "", false, errors.New("an absolute path: write it relative to the linking file")
	}
	repoPath = path.Join(path.Dir(file), p)
	if repoPath == ".." || strings.HasPrefix(repoPath, "../") {
		return "", "", false, errors.New("leaves the repository")
	}
	return repoPath, anchor, false, nil
}

// TestDocsLinks: every relative link of README.md and docs/*.md, resolved
// from the linking file's folder, names a file of the repository; an
// anchor names a heading of the file it points into; and the docs send
// their reader to no document outside the repository.
func TestDocsLinks(t *testing.T) {
	files := map[string]mdFile{}
	markdown := func(name string) mdFile {
		if f, ok := files[name]; ok {
			return f
		}
		files[name] = readMarkdown(t, name)
		return files[name]
	}
	for _, name := range docFiles(t) {
		f := markdown(name)
		for _, l := range f.links() {
			target, anchor, external, err := resolve(name, l.target)
			if err != nil {
				t.Errorf("%s:%d: link %s: %v", name, l.line, l.target, err)
				continue
			}
			if external {
				continue
			}
			if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(target))); err != nil {
				t.Errorf("%s:%d: link %s: %s is not in the repository", name, l.line, l.target, target)
				continue
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				t.Errorf("%s:%d: link %s: an anchor into %s, which is no Markdown file, cannot be checked", name, l.line, l.target, target)
				continue
			}
			if !markdown(target).anchors()[anchor] {
				t.Errorf("%s:%d: link %s: #%s is no heading of %s", name, l.line, l.target, anchor, target)
			}
		}
		text := strings.Join(f.lines, "\n")
		for _, outside := range []string{"COLLECTOR.md", "POSTHOG.md", "the brief", "/work/"} {
			if strings.Contains(text, outside) {
				t.Errorf("%s mentions %q, which is not part of the repository", name, outside)
			}
		}
	}
}

func TestDocsLinkResolution(t *testing.T) {
	for _, c := range []struct {
		file, target, path, anchor string
		external, fails            bool
	}{
		{file: "docs/rules.md", target: "../README.md#a-minimal-config", path: "README.md", anchor: "a-minimal-config"},
		{file: "docs/rules.md", target: "events.md#identity", path: "docs/events.md", anchor: "identity"},
		{file: "docs/rules.md", target: "#send-one-event-by-hand", path: "docs/rules.md", anchor: "send-one-event-by-hand"},
		{file: "README.md", target: "docs/rules.md#a-span", path: "docs/rules.md", anchor: "a-span"},
		{file: "README.md", target: "https://posthog.com", external: true},
		{file: "README.md", target: "../COLLECTOR.md", fails: true},
		{file: "docs/rules.md", target: "../../x.md", fails: true},
		{file: "README.md", target: "/work/brief.md", fails: true},
		{file: "README.md", target: "file:///etc/passwd", fails: true},
	} {
		p, anchor, external, err := resolve(c.file, c.target)
		if (err != nil) != c.fails || p != c.path || anchor != c.anchor || external != c.external {
			t.Errorf("resolve(%s, %s) = %q, %q, %v, %v", c.file, c.target, p, anchor, external, err)
		}
	}
}

// TestDocsReachableFromReadme: README.md links every page of docs/, so a
// newcomer who starts at the README finds it.
func TestDocsReachableFromReadme(t *testing.T) {
	linked := map[string]bool{}
	for _, l := range readMarkdown(t, "README.md").links() {
		if p, _, external, err := resolve("README.md", l.target); err == nil && !external {
			linked[p] = true
		}
	}
	pages := docFiles(t)[1:]
	if len(pages) == 0 {
		t.Fatal("no docs/*.md pages found")
	}
	for _, page := range pages {
		if !linked[page] {
			t.Errorf("README.md does not link %s: add it to \"Where to go next\"", page)
		}
	}
}
