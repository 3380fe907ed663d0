package domain

import (
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/fieldmask"
)

// Fields a client may never write; the server sets them. Update masks naming them are refused.
var outputOnly = map[string]bool{"create_time": true, "update_time": true}

// ProviderStaffFields are the fields of a Provider its own staff may change: how to reach them and what they
// hold, never who they are (names, kind, identifiers) nor their status, which the CUS decides.
var ProviderStaffFields = map[string]bool{
	"address": true, "teryt_code": true, "phones": true, "email": true, "website": true,
	"description": true, "accreditations": true,
}

// masks are the update-mask rules of provider resources (see platform/fieldmask).
var masks = fieldmask.Rules{OutputOnly: outputOnly}

// MaskPath is one validated path of an update mask.
type MaskPath = fieldmask.Path

// MaskPaths validates an update mask of msg: a path names a top-level field (`display_name`, `phones`) or a
// field inside singular message fields (`address.city`); repeated fields are replaced as a whole.
func MaskPaths(field string, msg proto.Message, paths []string) ([]MaskPath, error) {
	return masks.Paths(field, msg, paths)
}

// ApplyMask copies the masked fields from src to dst.
func ApplyMask(dst, src proto.Message, paths []MaskPath) { fieldmask.Apply(dst, src, paths) }

// ClearOutputOnly drops the fields a client must not set, so they are never stored from input.
func ClearOutputOnly(msg proto.Message) { masks.ClearOutputOnly(msg) }

// ChangedFields lists the top-level fields (proto names) whose values differ between a and b, in field order.
func ChangedFields(a, b proto.Message) []string {
	ra, rb := a.ProtoReflect(), b.ProtoReflect()
	fds := ra.Descriptor().Fields()
	var out []string
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		name := string(fd.Name())
		if outputOnly[name] || name == "name" || name == "etag" {
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
