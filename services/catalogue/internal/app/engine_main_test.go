package app

import (
	"testing"

	"github.com/cus-suite/cus/platform/storage/enginetest"
)

// TestMain runs these tests on the storage engine CUS_TEST_STORAGE_ENGINE names (bbolt by default; etcd in
// make test-etcd).
func TestMain(m *testing.M) { enginetest.Main(m) }
