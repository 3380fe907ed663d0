// Package paging holds the list conventions of api-style.md shared by every service: page sizes (0 means the
// default, above the maximum means the maximum, negative is an error), opaque page tokens bound to the query
// they were issued for, and the request hash behind request_id idempotency.
package paging

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cus-suite/cus/platform/apierr"
)

// Size applies the page-size rules to n; field names it in errors.
func Size(field string, n, def, max int32) (int, error) {
	switch {
	case n < 0:
		return 0, apierr.Invalid(field, "must not be negative")
	case n == 0:
		return int(def), nil
	case n > max:
		return int(max), nil
	}
	return int(n), nil
}

// A token is an offset bound to a digest of the query, so it cannot be replayed against different parameters,
// and a hand-made one is refused.
type token struct {
	Offset int    `json:"o"`
	Digest string `json:"d"`
}

// Digest identifies a query: pass the request with its page size and token cleared.
func Digest(query proto.Message) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(query)
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// Encode makes the token of the page starting at offset.
func Encode(offset int, digest string) string {
	b, _ := json.Marshal(token{Offset: offset, Digest: digest})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the offset of tok, 0 for no token, or INVALID_ARGUMENT INVALID_PAGE_TOKEN.
func Decode(tok, digest string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	bad := apierr.ErrInvalidPageToken
	if len(tok) > 200 {
		return 0, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, bad
	}
	var t token
	if err := json.Unmarshal(raw, &t); err != nil || t.Offset < 0 || t.Digest != digest {
		return 0, bad
	}
	return t.Offset, nil
}

// Page cuts one page out of a sorted list and returns it with the next token ("" on the last page).
func Page[T any](list []T, offset, size int, digest string) ([]T, string) {
	if offset > len(list) {
		offset = len(list)
	}
	end := min(offset+size, len(list))
	next := ""
	if end < len(list) {
		next = Encode(end, digest)
	}
	return list[offset:end], next
}

// RequestHash identifies a create or state-change request for idempotency, without its request_id field.
//
// The message hashed is a shallow copy that shares the request's field values (a deep proto.Clone would copy a
// 3 MiB import file only to marshal it): the same bytes are hashed, so a hash stored earlier still matches.
func RequestHash(req proto.Message) []byte {
	r := req.ProtoReflect()
	c := r.New()
	rid := r.Descriptor().Fields().ByName("request_id")
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd != rid {
			c.Set(fd, v)
		}
		return true
	})
	c.SetUnknown(r.GetUnknown())
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c.Interface())
	sum := sha256.Sum256(b)
	return sum[:]
}
