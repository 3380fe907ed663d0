package domain

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Fields a client may never write; the server sets them. Update masks naming them are refused.
var outputOnly = map[string]bool{"create_time": true, "update_time": true}

// Fields that identify the resource or guard the update rather than change it: a mask may name them (the REST
// gateway derives masks from every key of a PATCH body, including these), and they are then skipped.
var identity = map[string]bool{"name": true, "etag": true}

// ProviderStaffFields are the fields of a Provider its own staff may change: how to reach them and what they
// hold, never who they are (names, kind, identifiers) nor their status, which the CUS decides.
var ProviderStaffFields = map[string]bool{
	"address": true, "teryt_code": true, "phones": true, "email": true, "website": true,
	"description": true, "accreditations": true,
}

// MaskPath is one validated path of an update mask: the fields from the resource down to the updated one.
type MaskPath []protoreflect.FieldDescriptor

// Top is the top-level field name of the path.
func (p MaskPath) Top() string { return string(p[0].Name()) }

// String is the path in proto names, e.g. "address.city".
func (p MaskPath) String() string {
	parts := make([]string, len(p))
	for i, fd := range p {
		parts[i] = string(fd.Name())
	}
	return strings.Join(parts, ".")
}

// MaskPaths validates an update mask of msg and returns its paths. A path names a top-level field
// (`display_name`, `phones`) or a field inside singular message fields (`address.city`); repeated fields are
// replaced as a whole. No mask or "*" means every writable top-level field. field names the mask in errors.
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
	var v Violations
	out := make([]MaskPath, 0, len(paths))
	seen := map[string]bool{}
	for _, p := range paths {
		top, _, _ := strings.Cut(p, ".")
		switch {
		case p == "*":
			v.Add(field, ReasonInvalidValue, "\"*\" must be the only path")
		case seen[p]:
			v.Add(field, ReasonInvalidValue, "path %q is listed twice", p)
		case outputOnly[top]:
			v.Add(field, ReasonNotAllowed, "path %q is output only and cannot be updated", p)
		case identity[top]:
			// skipped on purpose
		default:
			mp, problem := resolvePath(desc, p)
			if problem != "" {
				v.Add(field, ReasonInvalidValue, "path %q: %s", p, problem)
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
		if name := string(fds.Get(i).Name()); outputOnly[name] || identity[name] {
			m.Clear(fds.Get(i))
		}
	}
}

// ChangedFields lists the top-level fields (proto names) whose values differ between a and b, in field order.
func ChangedFields(a, b proto.Message) []string {
	ra, rb := a.ProtoReflect(), b.ProtoReflect()
	fds := ra.Descriptor().Fields()
	var out []string
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		name := string(fd.Name())
		if outputOnly[name] || identity[name] {
			continue
		}
		if ra.Has(fd) != rb.Has(fd) || (ra.Has(fd) && !ra.Get(fd).Equal(rb.Get(fd))) {
			out = append(out, name)
		}
	}
	return out
}

// ForbiddenForProviderStaff returns the paths of a mask provider staff may not change. With an explicit mask,
// every path outside ProviderStaffFields is forbidden. With no mask (every field), a field outside them is
// forbidden only when the request would change it (patch differs from cur), so a client may send the whole
// record back with its own changes.
func ForbiddenForProviderStaff(paths []MaskPath, explicit bool, cur, patch proto.Message) []string {
	var out []string
	for _, p := range paths {
		if ProviderStaffFields[p.Top()] {
			continue
		}
		if !explicit {
			fd := p[0]
			rc, rp := cur.ProtoReflect(), patch.ProtoReflect()
			if rc.Has(fd) == rp.Has(fd) && (!rc.Has(fd) || rc.Get(fd).Equal(rp.Get(fd))) {
				continue
			}
		}
		out = append(out, p.String())
	}
	return out
}
