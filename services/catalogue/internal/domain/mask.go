package domain

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cus-suite/cus/platform/apierr"
)

// Fields a client may never write; the server sets them. Update masks naming them are refused.
var outputOnly = map[string]bool{
	"origin_terc": true, "create_time": true, "update_time": true, "provider_display_names": true,
}

// Fields that identify the resource or guard the update rather than change it: a mask may name them (the REST
// gateway derives masks from every key of a PATCH body, including these), and they are then skipped.
var identity = map[string]bool{"name": true, "etag": true}

// MaskPath is one validated path of an update mask: the fields from the resource down to the updated one.
type MaskPath []protoreflect.FieldDescriptor

// MaskPaths validates an update mask of msg and returns its paths. A path names a top-level field
// (`display_name`, `locations`) or a field inside singular message fields (`fee.price_grosze`); repeated fields
// are replaced as a whole. No mask or "*" means every writable top-level field. field names the mask in errors.
func MaskPaths(field string, msg proto.Message, paths []string) ([]MaskPath, error) {
	desc := msg.ProtoReflect().Descriptor()
	fds := desc.Fields()
	if len(paths) == 0 || (len(paths) == 1 && paths[0] == "*") {
		out := make([]MaskPath, 0, fds.Len())
		for i := 0; i < fds.Len(); i++ {
			name := string(fds.Get(i).Name())
			if !outputOnly[name] && !identity[name] {
				out = append(out, MaskPath{fds.Get(i)})
			}
		}
		return out, nil
	}
	var v apierr.Violations
	out := make([]MaskPath, 0, len(paths))
	seen := map[string]bool{}
	for _, p := range paths {
		top, _, _ := strings.Cut(p, ".")
		switch {
		case p == "*":
			v.Add(field, "\"*\" must be the only path")
		case seen[p]:
			v.Add(field, "path %q is listed twice", p)
		case outputOnly[top]:
			v.Add(field, "path %q is output only and cannot be updated", p)
		case identity[top]:
			// skipped on purpose
		default:
			mp, problem := resolvePath(desc, p)
			if problem != "" {
				v.Add(field, "path %q: %s", p, problem)
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

func resolvePath(desc protoreflect.MessageDescriptor, path string) (MaskPath, string) {
	var mp MaskPath
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

// ApplyMask copies the fields of each path from src to dst; a field unset in src is cleared in dst. For a nested
// path, the messages on the way are created in dst when missing.
func ApplyMask(dst, src proto.Message, paths []MaskPath) {
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

// ClearOutputOnly drops the fields a client must not set, so they are never stored from input.
func ClearOutputOnly(msg proto.Message) {
	m := msg.ProtoReflect()
	fds := m.Descriptor().Fields()
	for i := 0; i < fds.Len(); i++ {
		if fd := fds.Get(i); outputOnly[string(fd.Name())] || string(fd.Name()) == "name" || string(fd.Name()) == "etag" {
			m.Clear(fd)
		}
	}
}
