package storage

import (
	"os"
	"path/filepath"
	"sync/atomic"
)

// testEngine, when set, chooses the engine of a bbolt Open by its path (SetTestEngine).
var testEngine atomic.Pointer[func(path string) (Engine, bool)]

// SetTestEngine is for tests only: it makes every Open that asks for bbolt (the zero Engine) ask fn first, and
// open the engine fn returns instead when fn says so, typically an etcd prefix derived from path. So a
// service's existing tests, which open bbolt files in t.TempDir(), run unchanged on etcd (the test matrix,
// storage/enginetest). The store then keeps path as its Path and as the key of InjectFault and Supervise, as
// a bbolt store would. nil removes the hook. Production code never calls it: only a test binary's TestMain.
func SetTestEngine(fn func(path string) (Engine, bool)) {
	if fn == nil {
		testEngine.Store(nil)
		return
	}
	testEngine.Store(&fn)
}

// openTestEngine opens what the hook chooses for path; ok is false when there is no hook or it keeps bbolt.
func openTestEngine(path string, opts Options) (b *Backend, ok bool, err error) {
	fn := testEngine.Load()
	if fn == nil {
		return nil, false, nil
	}
	e, use := (*fn)(path)
	if !use || e.Kind != EngineEtcd {
		return nil, false, nil
	}
	// bbolt creates the file's directory, and services put files of their own beside it (the catalogue's
	// search index snapshot): so does its stand-in.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, true, err
	}
	opts.Engine, opts.testPath = e, path
	b, err = openEtcd(path, opts)
	return b, true, err
}
