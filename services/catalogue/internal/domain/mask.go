package domain

import (
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/fieldmask"
)

// masks are the update-mask rules of catalogue resources: the fields the server sets and clients never write.
var masks = fieldmask.Rules{OutputOnly: map[string]bool{
	"origin_terc": true, "create_time": true, "update_time": true, "provider_display_names": true,
}}

// MaskPath is one validated path of an update mask.
type MaskPath = fieldmask.Path

// MaskPaths validates an update mask of msg (see platform/fieldmask for the rules).
func MaskPaths(field string, msg proto.Message, paths []string) ([]MaskPath, error) {
	return masks.Paths(field, msg, paths)
}

// ApplyMask copies the masked fields from src to dst.
func ApplyMask(dst, src proto.Message, paths []MaskPath) { fieldmask.Apply(dst, src, paths) }

// ClearOutputOnly drops the fields a client must not set, so they are never stored from input.
func ClearOutputOnly(msg proto.Message) { masks.ClearOutputOnly(msg) }
