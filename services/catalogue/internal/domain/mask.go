package domain

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cus-suite/cus/platform/apierr"
)

// Fields a client may never write; the server sets them. Update masks naming them are refused.
var outputOnly = map[string]bool{
	"name": true, "origin_terc": true, "create_time": true, "update_time": true, "etag": true,
}

// MaskPaths validates an update mask of top-level field names of msg and returns the fields it names;
// no mask or "*" means every writable field. field names the mask in errors (e.g. "update_mask").
func MaskPaths(field string, msg proto.Message, paths []string) ([]protoreflect.FieldDescriptor, error) {
	fds := msg.ProtoReflect().Descriptor().Fields()
	if len(paths) == 0 || (len(paths) == 1 && paths[0] == "*") {
		out := make([]protoreflect.FieldDescriptor, 0, fds.Len())
		for i := 0; i < fds.Len(); i++ {
			if !outputOnly[string(fds.Get(i).Name())] {
				out = append(out, fds.Get(i))
			}
		}
		return out, nil
	}
	var v apierr.Violations
	out := make([]protoreflect.FieldDescriptor, 0, len(paths))
	seen := map[string]bool{}
	for _, p := range paths {
		fd := fds.ByName(protoreflect.Name(p))
		switch {
		case p == "*":
			v.Add(field, "\"*\" must be the only path")
		case strings.Contains(p, "."):
			v.Add(field, "path %q: name a top-level field (e.g. %q); nested paths are not supported", p, p[:strings.Index(p, ".")])
		case fd == nil:
			v.Add(field, "path %q is not a field of %s", p, msg.ProtoReflect().Descriptor().Name())
		case outputOnly[p]:
			v.Add(field, "path %q is output only and cannot be updated", p)
		case seen[p]:
			v.Add(field, "path %q is listed twice", p)
		default:
			out = append(out, fd)
		}
		seen[p] = true
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ApplyMask copies the named fields from src to dst; a field unset in src is cleared in dst.
func ApplyMask(dst, src proto.Message, fields []protoreflect.FieldDescriptor) {
	d, s := dst.ProtoReflect(), src.ProtoReflect()
	for _, fd := range fields {
		if s.Has(fd) {
			d.Set(fd, s.Get(fd))
		} else {
			d.Clear(fd)
		}
	}
}

// ClearOutputOnly drops the fields a client must not set, so they are never stored from input.
func ClearOutputOnly(msg proto.Message) {
	m := msg.ProtoReflect()
	fds := m.Descriptor().Fields()
	for i := 0; i < fds.Len(); i++ {
		if fd := fds.Get(i); outputOnly[string(fd.Name())] {
			m.Clear(fd)
		}
	}
}
