package panel

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

// staticFiles serves the embedded CSS and JS under content-hashed names
// (app.3f2a9c1b.css), so a deploy changes every URL whose file changed and
// the files can be cached for a year.
type staticFiles struct {
	urls  map[string]string // "app.css" → "/static/app.3f2a9c1b.css"
	files map[string]staticFile
}

type staticFile struct {
	body        []byte
	contentType string
}

func loadStatic() *staticFiles {
	s := &staticFiles{urls: map[string]string{}, files: map[string]staticFile{}}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		body, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:5]) + ext
		s.urls[e.Name()] = "/static/" + hashed
		s.files[hashed] = staticFile{body: body, contentType: mime.TypeByExtension(ext)}
	}
	return s
}

// URL returns the hashed URL of a static file; a missing file panics at
// template parse time through the tests.
func (s *staticFiles) URL(name string) string {
	u, ok := s.urls[name]
	if !ok {
		panic("panel: no static file " + name)
	}
	return u
}

func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := s.files[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(f.body)
}
