package rest

// HTTP caching and concurrency headers (RFC 9110 §8.8.3, §13) over the etags the services already keep
// (AIP-154: every resource has an `etag`, and updates, deletes and state changes take the etag last read).
//
//   - GET of a single resource answers `ETag: "<etag>"`, the body's etag in double quotes, and PATCH answers the
//     new one. The tag is strong: it is the stored version of the resource, and it is what If-Match carries, which
//     RFC 9110 compares strongly. (The same version reads differently for callers of different roles, e.g. provider
//     staff without the income data; a strong tag across them is safe because such responses carry Authorization
//     and are never shared between callers by a cache.)
//   - GET of a list (or of anything without an etag field) answers a strong ETag that is a hash of the body itself,
//     so a 304 is exact. The body is held in memory for that, up to maxHashedBody; a larger one goes out untagged.
//   - If-None-Match on GET (weak comparison, `*` included) that matches is answered 304 Not Modified without a
//     body. The service is still called (and audits the read): only the transfer is saved.
//   - If-Match on PATCH, DELETE and custom methods (POST …:accept) becomes the request's etag field (the
//     top-level `etag`, or the resource's for an update), set on the decoded request on its way to the service:
//     no body is parsed twice. A stale one, which the service refuses with ABORTED STALE_ETAG (409 when sent in
//     the body), is answered 412 Precondition Failed, with the same google.rpc.Status body. An etag also given
//     in the body must be the same (400 otherwise). A weak tag never matches If-Match (412); `*` adds nothing
//     (a missing resource is NOT_FOUND anyway); a list of several tags, or If-Match on a create, is 400.
//
// The state of one request travels from the HTTP handler to the gRPC call and back in the request's context
// (grpc-gateway derives the call's context from it), as a *conditional.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cus-suite/cus/platform/apierr"
)

// maxHashedBody bounds the body held to compute a list's ETag (a page of 1,000 services is well below it).
const maxHashedBody = 4 << 20

// staleEtagReason is what the services answer for a stale etag (apierr.ErrStaleEtag).
var staleEtagReason = apierr.ErrStaleEtag.Reason

type conditionalKey struct{}

// conditional is the conditional-request state of one HTTP request.
type conditional struct {
	method  string
	path    string
	ifMatch []string // the If-Match header lines, as sent
	// stale: the If-Match etag was refused as stale (by the service, or here for a weak tag): answer 412.
	stale atomic.Bool
}

func conditionalOf(ctx context.Context) *conditional {
	c, _ := ctx.Value(conditionalKey{}).(*conditional)
	return c
}

// withConditionalRequests answers conditional requests on the /v1 routes: ETag on GET, 304 for a matching
// If-None-Match, 412 for a stale If-Match. Streams (the watches) pass untouched.
func withConditionalRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isStream(r) {
			next.ServeHTTP(w, r)
			return
		}
		c := &conditional{method: r.Method, path: r.URL.Path, ifMatch: r.Header.Values("If-Match")}
		r = r.WithContext(context.WithValue(r.Context(), conditionalKey{}, c))
		cw := &conditionalWriter{ResponseWriter: w, c: c, ifNoneMatch: r.Header.Get("If-None-Match")}
		next.ServeHTTP(cw, r)
		cw.finish()
	})
}

// conditionalWriter turns a response into 304 or 412 as the request's conditions say, and tags untagged GET
// answers with a hash of their body.
type conditionalWriter struct {
	http.ResponseWriter
	c           *conditional
	ifNoneMatch string
	wroteHeader bool
	discard     bool // a 304: the body is not sent
	hashing     bool // a GET answer without an ETag: the body is held to hash it
	buf         bytes.Buffer
}

func (w *conditionalWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if code == http.StatusConflict && w.c.stale.Load() {
		code = http.StatusPreconditionFailed
	}
	if code == http.StatusOK && w.c.method == http.MethodGet {
		if tag := w.Header().Get("ETag"); tag != "" {
			if noneMatch(w.ifNoneMatch, tag) {
				w.notModified()
				return
			}
		} else {
			w.hashing = true
			return
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *conditionalWriter) notModified() {
	w.discard = true
	h := w.Header()
	h.Del("Content-Type")
	h.Del("Content-Length")
	w.ResponseWriter.WriteHeader(http.StatusNotModified)
}

func (w *conditionalWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	switch {
	case w.discard:
		return len(b), nil
	case w.hashing:
		if w.buf.Len()+len(b) <= maxHashedBody {
			return w.buf.Write(b)
		}
		// Too large to hold: send it untagged.
		w.hashing = false
		w.ResponseWriter.WriteHeader(http.StatusOK)
		if _, err := w.ResponseWriter.Write(w.buf.Bytes()); err != nil {
			return 0, err
		}
		w.buf = bytes.Buffer{}
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes through, except while a body is held for its hash.
func (w *conditionalWriter) Flush() {
	if w.hashing || w.discard {
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *conditionalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish sends a held body with its hash as the ETag, or 304 when the client has it already.
func (w *conditionalWriter) finish() {
	if !w.hashing {
		return
	}
	w.hashing = false
	sum := sha256.Sum256(w.buf.Bytes())
	tag := `"h` + base64.RawURLEncoding.EncodeToString(sum[:15]) + `"`
	w.Header().Set("ETag", tag)
	if noneMatch(w.ifNoneMatch, tag) {
		w.notModified()
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(w.buf.Len()))
	w.ResponseWriter.WriteHeader(http.StatusOK)
	_, _ = w.ResponseWriter.Write(w.buf.Bytes())
}

// entityTag is one parsed entity-tag.
type entityTag struct {
	weak  bool
	value string // without quotes
}

// parseEntityTags reads an If-Match / If-None-Match value: `*`, or entity-tags separated by commas. ok is false
// when it is neither.
func parseEntityTags(h string) (tags []entityTag, any, ok bool) {
	s := strings.TrimSpace(h)
	if s == "*" {
		return nil, true, true
	}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return tags, false, len(tags) > 0
		}
		var t entityTag
		if strings.HasPrefix(s, "W/") {
			t.weak, s = true, s[2:]
		}
		if !strings.HasPrefix(s, `"`) {
			return nil, false, false
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return nil, false, false
		}
		t.value, s = s[1:1+end], s[2+end:]
		tags = append(tags, t)
		if s = strings.TrimLeft(s, " \t"); s != "" && s[0] != ',' {
			return nil, false, false
		}
	}
}

// noneMatch reports whether If-None-Match matches the response's tag (weak comparison, RFC 9110 §13.1.2).
func noneMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	tags, any, ok := parseEntityTags(header)
	if !ok {
		return false
	}
	if any {
		return true
	}
	resp, _, ok := parseEntityTags(tag)
	if !ok || len(resp) != 1 {
		return false
	}
	for _, t := range tags {
		if t.value == resp[0].value {
			return true
		}
	}
	return false
}

// etagHeader is the grpc-gateway forward-response option that puts a returned resource's etag in the ETag
// header of a GET or PATCH answer (the representation of the target resource; a custom method's answer is
// not, RFC 9110 §8.8.3).
func etagHeader(ctx context.Context, w http.ResponseWriter, m proto.Message) error {
	c := conditionalOf(ctx)
	if c == nil || (c.method != http.MethodGet && c.method != http.MethodPatch) {
		return nil
	}
	if fd := etagField(m.ProtoReflect().Descriptor()); fd != nil {
		if e := m.ProtoReflect().Get(fd).String(); e != "" && validETagValue(e) {
			w.Header().Set("ETag", `"`+e+`"`)
		}
	}
	return nil
}

// validETagValue: etagc of RFC 9110 (visible ASCII but the double quote).
func validETagValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x21 || b == '"' || b > 0x7e {
			return false
		}
	}
	return true
}

func etagField(md protoreflect.MessageDescriptor) protoreflect.FieldDescriptor {
	fd := md.Fields().ByName("etag")
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return nil
	}
	return fd
}

// requestEtag finds where a request carries the etag it was read at: its own `etag` field (deletes and custom
// methods), or the `etag` of the one resource it carries (updates). path is the field's proto path for errors.
func requestEtag(m protoreflect.Message) (holder protoreflect.Message, fd protoreflect.FieldDescriptor, path string) {
	if fd := etagField(m.Descriptor()); fd != nil {
		return m, fd, "etag"
	}
	var found protoreflect.FieldDescriptor
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if f.Kind() == protoreflect.MessageKind && !f.IsList() && !f.IsMap() && etagField(f.Message()) != nil {
			if found != nil {
				return nil, nil, "" // two resources: which one is meant is not ours to guess
			}
			found = f
		}
	}
	if found == nil {
		return nil, nil, ""
	}
	inner := m.Mutable(found).Message()
	return inner, etagField(inner.Descriptor()), string(found.Name()) + ".etag"
}

// applyIfMatch puts the If-Match etag into the request, or says why it cannot.
func (c *conditional) applyIfMatch(req any) (applied bool, err error) {
	if len(c.ifMatch) == 0 || c.method == http.MethodGet || c.method == http.MethodHead {
		return false, nil
	}
	tags, any, ok := parseEntityTags(strings.Join(c.ifMatch, ","))
	switch {
	case !ok:
		return false, gatewayError(codes.InvalidArgument, "MALFORMED_REQUEST",
			`If-Match must be "*" or one entity tag in double quotes, e.g. If-Match: "r2s"`, "If-Match")
	case any:
		return false, nil // the resource must exist: the service says NOT_FOUND when it does not
	case len(tags) > 1:
		return false, gatewayError(codes.InvalidArgument, "PRECONDITION_UNSUPPORTED",
			"If-Match must carry one entity tag: a resource has one current etag", "If-Match")
	}
	m, isProto := req.(proto.Message)
	custom := c.method != http.MethodPost || strings.Contains(c.path[strings.LastIndexByte(c.path, '/')+1:], ":")
	if !isProto || !custom {
		return false, gatewayError(codes.InvalidArgument, "PRECONDITION_UNSUPPORTED",
			"If-Match applies to PATCH, DELETE and custom methods (POST …:action) of a resource", "If-Match")
	}
	holder, fd, path := requestEtag(m.ProtoReflect())
	if fd == nil {
		return false, gatewayError(codes.InvalidArgument, "PRECONDITION_UNSUPPORTED",
			"this method takes no etag, so If-Match cannot be checked", "If-Match")
	}
	if tags[0].value == "" {
		// No resource has the empty etag, and the services read an empty etag as "no check": "" must fail, not
		// turn the write into an unconditional one.
		c.stale.Store(true)
		return false, gatewayError(codes.Aborted, staleEtagReason,
			"the etag does not match the current version; read the resource again and retry", "")
	}
	if tags[0].weak {
		// RFC 9110 §13.1.1: If-Match compares strongly, and a weak tag never matches.
		c.stale.Store(true)
		return false, gatewayError(codes.Aborted, staleEtagReason,
			"a weak entity tag (W/...) never matches If-Match; send the etag as read, in double quotes", "")
	}
	if body := holder.Get(fd).String(); body != "" && body != tags[0].value {
		return false, gatewayError(codes.InvalidArgument, "INVALID_FIELDS",
			"the request has invalid fields", path, "differs from the If-Match header; send the etag once, or the same in both")
	}
	holder.Set(fd, protoreflect.ValueOfString(tags[0].value))
	return true, nil
}

// gatewayError is a google.rpc.Status with the suite's ErrorInfo and, when field is given, a BadRequest naming it
// (with description, or the message).
func gatewayError(code codes.Code, reason, msg, field string, description ...string) error {
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: apierr.Domain}}
	if field != "" {
		d := msg
		if len(description) > 0 {
			d = description[0]
		}
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: d}}})
	}
	st, err := status.New(code, msg).WithDetails(details...)
	if err != nil {
		return status.Error(code, msg)
	}
	return st.Err()
}

// ifMatchConn is a connection to a service that carries the HTTP request's If-Match into the request's etag.
type ifMatchConn struct{ grpc.ClientConnInterface }

func (c ifMatchConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	cond := conditionalOf(ctx)
	if cond == nil {
		return c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
	}
	applied, err := cond.applyIfMatch(args)
	if err != nil {
		return err
	}
	err = c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
	if applied && status.Code(err) == codes.Aborted && reasonOf(status.Convert(err)) == staleEtagReason {
		cond.stale.Store(true)
	}
	return err
}

// withIfMatch wraps the connections the REST routes call through.
func withIfMatch(c Conns) Conns {
	wrap := func(cc grpc.ClientConnInterface) grpc.ClientConnInterface {
		if cc == nil {
			return nil
		}
		return ifMatchConn{cc}
	}
	c.Catalogue, c.Provider, c.Referral = wrap(c.Catalogue), wrap(c.Provider), wrap(c.Referral)
	return c
}
