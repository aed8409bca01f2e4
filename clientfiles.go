package socketio

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
)

// clientFiles are the bundles of the socket.io-client package that Node's
// server serves (serveClient).
var clientFiles = map[string]bool{
	"socket.io.js":                 true,
	"socket.io.js.map":             true,
	"socket.io.min.js":             true,
	"socket.io.min.js.map":         true,
	"socket.io.msgpack.min.js":     true,
	"socket.io.msgpack.min.js.map": true,
	"socket.io.esm.min.js":         true,
	"socket.io.esm.min.js.map":     true,
}

func isClientFile(name string) bool { return clientFiles[name] }

// serveClientFile serves one bundle as Node does: Cache-Control
// "public, max-age=0", an ETag (a hash of the content, where Node uses the
// client's version), 304 for a matching If-None-Match, gzip when accepted.
func serveClientFile(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	sum := sha1.Sum(data)
	etag := `"` + hex.EncodeToString(sum[:10]) + `"`
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=0")
	h.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" {
		for _, m := range strings.Split(match, ",") {
			if strings.TrimSpace(m) == etag || strings.TrimSpace(m) == "W/"+etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	if strings.HasSuffix(name, ".map") {
		h.Set("Content-Type", "application/json; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/javascript; charset=utf-8")
	}
	h.Add("Vary", "Accept-Encoding")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(data); err == nil && zw.Close() == nil {
			data = buf.Bytes()
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}
