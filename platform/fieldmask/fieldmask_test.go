package fieldmask

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/structpb"
)

// errdetails.ErrorInfo has only scalar and map fields; structpb.Value has a oneof of messages, good enough to
// exercise nesting without a service's types.
func TestPathsAndApply(t *testing.T) {
	rules := Rules{OutputOnly: map[string]bool{"domain": true}}
	info := &errdetails.ErrorInfo{}
	if p, err := rules.Paths("update_mask", info, nil); err != nil || len(p) != 2 {
		t.Fatalf("default mask: %v %v", p, err)
	}
	for _, bad := range [][]string{{"domain"}, {"nope"}, {"reason.x"}, {"reason", "reason"}, {"*", "reason"}, {"metadata.x"}} {
		if _, err := rules.Paths("update_mask", info, bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if p, err := rules.Paths("update_mask", info, []string{"name", "etag", "reason"}); err != nil || len(p) != 1 || p[0].String() != "reason" {
		t.Fatalf("identity fields should be skipped: %v %v", p, err)
	}
	dst := &errdetails.ErrorInfo{Reason: "A", Domain: "d", Metadata: map[string]string{"k": "v"}}
	src := &errdetails.ErrorInfo{Reason: "B"}
	p, _ := rules.Paths("update_mask", src, []string{"reason", "metadata"})
	Apply(dst, src, p)
	if dst.GetReason() != "B" || dst.GetDomain() != "d" || len(dst.GetMetadata()) != 0 {
		t.Fatalf("apply: %v", dst)
	}
	v := structpb.NewStructValue(&structpb.Struct{})
	if _, err := rules.Paths("update_mask", v, []string{"struct_value.fields.x"}); err == nil {
		t.Fatal("a sub-path of a map was accepted")
	}
	rules.ClearOutputOnly(dst)
	if dst.GetDomain() != "" {
		t.Fatal("output-only field kept")
	}
}
