// Package fieldmask validates and applies update masks (AIP-134) the same way in every service: a path names a
// top-level field or a field inside singular message fields (`fee.price_grosze`); lists and maps are replaced as
// a whole; no mask or "*" means every writable top-level field; `name` and `etag` may appear in a mask (the REST
// gateway derives masks from every key of a PATCH body) and are skipped; output-only fields are refused.
package fieldmask

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cus-suite/cus/platform/apierr"
)

// Reasons of the field violations a bad mask produces.
const (
	ReasonInvalidPath = "INVALID_VALUE"
	ReasonOutputOnly  = "NOT_ALLOWED"
)

// Path is one validated path: the fields from the resource down to the updated one.
type Path []protoreflect.FieldDescriptor

// Top is the top-level field name of the path.
func (p Path) Top() string { return string(p[0].Name()) }

// String is the path in proto names, e.g. "address.city".
func (p Path) String() string {
	parts := make([]string, len(p))
	for i, fd := range p {
		parts[i] = string(fd.Name())
	}
	return strings.Join(parts, ".")
}

// Rules are a resource's output-only fields (set by the server, never written from input).
type Rules struct {
	OutputOnly map[string]bool
}

// identity fields identify or guard an update rather than change the resource.
var identity = map[string]bool{"name": true, "etag": true}

// Paths validates the paths of an update mask of msg; field names the mask in errors (e.g. "update_mask").
func (r Rules) Paths(field string, msg proto.Message, paths []string) ([]Path, error) {
	desc := msg.ProtoReflect().Descriptor()
	fds := desc.Fields()
	if len(paths) == 0 || (len(paths) == 1 && paths[0] == "*") {
		out := make([]Path, 0, fds.Len())
		for i := 0; i < fds.Len(); i++ {
			name := string(fds.Get(i).Name())
			if !r.OutputOnly[name] && !identity[name] {
				out = append(out, Path{fds.Get(i)})
			}
		}
		return out, nil
	}
	var v apierr.Violations
	out := make([]Path, 0, len(paths))
	seen := map[string]bool{}
	for _, p := range paths {
		top, _, _ := strings.Cut(p, ".")
		switch {
		case p == "*":
			v.AddReason(field, ReasonInvalidPath, "\"*\" must be the only path")
		case seen[p]:
			v.AddReason(field, ReasonInvalidPath, "path %q is listed twice", p)
		case r.OutputOnly[top]:
			v.AddReason(field, ReasonOutputOnly, "path %q is output only and cannot be updated", p)
		case identity[top]:
			// skipped on purpose
		default:
			mp, problem := resolve(desc, p)
			if problem != "" {
				v.AddReason(field, ReasonInvalidPath, "path %q: %s", p, problem)
			} else {
				out = append(out, mp)
			}
		}
		seen[p] = true
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func resolve(desc protoreflect.MessageDescriptor, path string) (Path, string) {
	var mp Path
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		fd := desc.Fields().ByName(protoreflect.Name(seg))
		if fd == nil {
			return nil, "no field " + seg + " in " + string(desc.Name())
		}
		mp = append(mp, fd)
		if i == len(segs)-1 {
			break
		}
		if fd.IsList() || fd.IsMap() || fd.Message() == nil {
			return nil, seg + " cannot have sub-paths (lists are replaced as a whole)"
		}
		desc = fd.Message()
	}
	return mp, ""
}

// Apply copies the fields of each path from src to dst; a field unset in src is cleared in dst. For a nested
// path, the messages on the way are created in dst when missing.
func Apply(dst, src proto.Message, paths []Path) {
	for _, p := range paths {
		d, s := dst.ProtoReflect(), src.ProtoReflect()
		for _, fd := range p[:len(p)-1] {
			d = d.Mutable(fd).Message()
			// When src lacks the message, Get returns an empty read-only default, so every leaf below is unset.
			s = s.Get(fd).Message()
		}
		leaf := p[len(p)-1]
		if s.Has(leaf) {
			d.Set(leaf, s.Get(leaf))
		} else {
			d.Clear(leaf)
		}
	}
}

// ClearOutputOnly drops what a client must not set (output-only fields, name and etag), so it is never stored
// from input.
func (r Rules) ClearOutputOnly(msg proto.Message) {
	m := msg.ProtoReflect()
	fds := m.Descriptor().Fields()
	for i := 0; i < fds.Len(); i++ {
		if name := string(fds.Get(i).Name()); r.OutputOnly[name] || identity[name] {
			m.Clear(fds.Get(i))
		}
	}
}
