package grpcserver

import (
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/cus-suite/cus/platform/storage"
)

// TestStorageFailureIsUnavailable: a write refused by a backend that failed (storage.ErrFailed) is
// UNAVAILABLE with reason STORAGE_FAILED, not an INTERNAL error.
func TestStorageFailureIsUnavailable(t *testing.T) {
	st := ToStatus(fmt.Errorf("update: %w", fmt.Errorf("%w: sync dir", storage.ErrFailed)))
	if st.Code() != codes.Unavailable || len(st.Details()) != 1 || st.Details()[0].(*errdetails.ErrorInfo).GetReason() != "STORAGE_FAILED" {
		t.Fatalf("status %v %v", st.Code(), st.Details())
	}
}
