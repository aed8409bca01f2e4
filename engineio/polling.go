package engineio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sio/socketio/engineio/packet"
)

var (
	errPollOverlap   = errors.New("engineio: overlap from client")
	errPostOverlap   = errors.New("engineio: data request overlap from client")
	errPollAborted   = errors.New("engineio: poll connection closed prematurely")
	errBinaryContent = errors.New("engineio: binary POST body is not allowed in protocol v4")
)

// servePoll answers a polling GET: it waits until packets are queued (or
// the session closes, or an upgrade needs the poll to end), then writes them
// as one payload.
func (s *Session) servePoll(w http.ResponseWriter, r *http.Request, jsonp string) {
	s.heartbeatExpired()
	s.mu.Lock()
	if s.state == stateClosed {
		late := s.lateGET
		s.lateGET = false
		s.mu.Unlock()
		if late {
			s.writePayload(w, r, []packet.Packet{{Type: packet.Noop}}, jsonp)
		} else {
			s.srv.abort(w, r, errUnknownSID, false)
		}
		return
	}
	if s.poll != nil {
		s.mu.Unlock()
		s.closeWith(ReasonTransportError, errPollOverlap)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	wake := make(chan struct{}, 1)
	s.poll = wake
	s.mu.Unlock()

	var probeWait <-chan time.Time // armed while an upgrade probe is under way
	probeDone := false
	for {
		var pkts []packet.Packet
		s.mu.Lock()
		switch {
		case s.state == stateClosed:
			pkts = []packet.Packet{{Type: s.finalPkt}}
		case len(s.queue) > 0:
			pkts = s.takeQueueLocked()
		case s.state == stateClosing:
			// As Node, the close packet goes alone, after the queued
			// packets have been delivered: a client that handles packets
			// a tick later would otherwise see the close first.
			pkts = []packet.Packet{{Type: packet.Close}}
		case s.transport != TransportPolling:
			// The upgrade completed while this GET waited: like any
			// polling request after the upgrade, it is refused.
			s.poll = nil
			s.mu.Unlock()
			s.srv.abort(w, r, errBadRequest, false)
			return
		case s.probed && probeDone:
			// An upgrade is under way: end this poll so that the client can
			// pause polling and complete it.
			pkts = []packet.Packet{{Type: packet.Noop}}
		case s.probed && probeWait == nil:
			// As Node, answer within one check interval (100 ms) rather than
			// at once, so that a GET racing the client's upgrade packet is
			// refused like any GET after the upgrade.
			probeWait = time.After(upgradeCheckInterval)
		}
		if pkts != nil {
			s.poll = nil
			closing := s.state == stateClosing && pkts[0].Type == packet.Close
			s.mu.Unlock()
			s.writePayload(w, r, pkts, jsonp)
			if closing {
				s.closeWith(ReasonForcedClose, nil)
			}
			return
		}
		s.mu.Unlock()

		select {
		case <-wake:
		case <-probeWait:
			probeDone = true
		case <-r.Context().Done():
			s.mu.Lock()
			if s.poll == wake {
				s.poll = nil
			}
			s.mu.Unlock()
			s.closeWith(ReasonTransportError, errPollAborted)
			return
		}
	}
}

// upgradeCheckInterval is how soon a poll pending during an upgrade probe is
// ended with a noop (Node checks every 100 ms).
const upgradeCheckInterval = 100 * time.Millisecond

// writePayload writes pkts as a polling response, compressed when allowed.
func (s *Session) writePayload(w http.ResponseWriter, r *http.Request, pkts []packet.Packet, jsonp string) {
	body := packet.AppendPayload(make([]byte, 0, packet.PayloadLen(pkts)), pkts)
	if jsonp != "" {
		body = jsonpWrap(jsonp, body)
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	if t := s.srv.cfg.compressThreshold; t > 0 && len(body) >= t {
		if enc := acceptedEncoding(r.Header.Get("Accept-Encoding")); enc != "" {
			if z, err := compress(body, enc); err == nil {
				body = z
				h.Set("Content-Encoding", enc)
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	s.packetOut(pkts)
}

// servePost reads a polling POST body, bounded by MaxHTTPBufferSize, and
// delivers its packets in order.
func (s *Session) servePost(w http.ResponseWriter, r *http.Request, jsonp bool) {
	s.heartbeatExpired()
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		s.srv.abort(w, r, errUnknownSID, false)
		return
	}
	if s.posting {
		s.mu.Unlock()
		s.closeWith(ReasonTransportError, errPostOverlap)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.posting = true
	// Until the body is read, closing the session cuts the read short.
	rc := http.NewResponseController(w)
	s.abortPost = func() { _ = rc.SetReadDeadline(time.Now()) }
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.posting = false
		s.abortPost = nil
		s.mu.Unlock()
	}()

	if r.Header.Get("Content-Type") == "application/octet-stream" {
		s.closeWith(ReasonTransportError, errBinaryContent)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	limit := s.srv.cfg.maxHTTPBufferSize
	if r.ContentLength > limit {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	s.mu.Lock()
	s.abortPost = nil // read: a close from now on leaves the connection alone
	s.mu.Unlock()
	if err != nil {
		s.closeWith(ReasonTransportError, fmt.Errorf("engineio: data request connection closed prematurely: %w", err))
		// The body was not taken (its client is gone, or the session
		// closed and cut the read short): no 200 for it.
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if int64(len(body)) > limit {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	if jsonp {
		body = jsonpUnwrap(body)
	}
	err = packet.DecodePayload(body, func(p packet.Packet) error {
		s.onPacket(p, packet.EncodedLen(p))
		return nil
	})
	if err != nil {
		s.closeWith(ReasonParseError, err)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

// acceptedEncoding picks gzip, else deflate, when Accept-Encoding allows it.
func acceptedEncoding(header string) string {
	gz, df := false, false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "*":
			gz = true
		case "deflate":
			df = true
		}
	}
	switch {
	case gz:
		return "gzip"
	case df:
		return "deflate"
	}
	return ""
}

func compress(body []byte, enc string) ([]byte, error) {
	var buf bytes.Buffer
	var zw io.WriteCloser
	if enc == "gzip" {
		zw = gzip.NewWriter(&buf)
	} else {
		// Node's zlib.createDeflate writes the zlib format (RFC 1950),
		// which is what "deflate" means in HTTP.
		zw = zlib.NewWriter(&buf)
	}
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jsonpIndex keeps only the digits of the "j" parameter, as Node does.
func jsonpIndex(j string) string {
	var b strings.Builder
	for _, c := range j {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// jsonpWrap turns a payload into the script a JSONP poll returns:
// ___eio[j]("payload");
func jsonpWrap(j string, payload []byte) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(string(payload)) // always succeeds for a string
	js := bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
	js = bytes.ReplaceAll(js, []byte("\u2028"), []byte(`\u2028`))
	js = bytes.ReplaceAll(js, []byte("\u2029"), []byte(`\u2029`))
	out := make([]byte, 0, len(js)+len(j)+10)
	out = append(out, "___eio["...)
	out = append(out, j...)
	out = append(out, "]("...)
	out = append(out, js...)
	return append(out, ");"...)
}

// jsonpUnwrap extracts the payload from a JSONP POST body (form field "d").
// Escaped newlines are restored as Node does: `\n` becomes a newline unless
// the backslash is itself escaped, and `\\n` becomes `\n`.
func jsonpUnwrap(body []byte) []byte {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil
	}
	d := form.Get("d")
	var b strings.Builder
	for i := 0; i < len(d); i++ {
		switch {
		case d[i] == '\\' && i+2 < len(d) && d[i+1] == '\\' && d[i+2] == 'n':
			b.WriteString(`\n`)
			i += 2
		case d[i] == '\\' && i+1 < len(d) && d[i+1] == 'n':
			b.WriteByte('\n')
			i++
		default:
			b.WriteByte(d[i])
		}
	}
	return []byte(b.String())
}
