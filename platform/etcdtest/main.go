package etcdtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Shared is one etcd member started for a whole test binary (from TestMain, where there is no testing.TB):
// the engine of a package's tests run on etcd (storage/enginetest). Its data lives in a temporary directory
// removed by Stop.
type Shared struct {
	c   *Cluster
	dir string
}

// StartShared starts one member with opts (zero fields as in StartWith) in a fresh temporary directory and
// waits until it leads. Its log goes to stderr at error level (CUS_ETCD_LOG overrides the level). The caller
// must Stop it.
func StartShared(opts Options) (*Shared, error) {
	opts, lvl, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cus-etcdtest-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	// As in StartWith: a port taken between picking and binding is retried with fresh ones.
	for attempt := 0; attempt < 3; attempt++ {
		c, err := tryStartShared(filepath.Join(dir, fmt.Sprintf("try%d", attempt)), opts, lvl)
		if err == nil {
			return &Shared{c: c, dir: dir}, nil
		}
		lastErr = err
		if !isAddrInUse(err) {
			break
		}
	}
	_ = os.RemoveAll(dir)
	return nil, fmt.Errorf("etcdtest: start a shared member: %w", lastErr)
}

func tryStartShared(root string, opts Options, lvl zapcore.Level) (*Cluster, error) {
	// No testing.TB: the sink stays not alive (it would log to a test) and the members log to stderr.
	sink := &testSink{}
	c := &Cluster{
		opts:  opts,
		sink:  sink,
		token: fmt.Sprintf("cus-etcdtest-shared-%d", time.Now().UnixNano()),
		log: zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
			zapcore.AddSync(stderrSink{sink}), lvl)),
	}
	ports, err := FreePorts(2)
	if err != nil {
		return nil, err
	}
	m := &member{
		name:      "m0",
		dir:       filepath.Join(root, "m0"),
		clientURL: url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[0])},
		peerURL:   url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[1])},
	}
	c.members = []*member{m}
	c.initial = m.name + "=" + m.peerURL.String()
	if m.etcd, err = c.startMember(m, embed.ClusterStateFlagNew); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.WaitLeader(ctx); err != nil {
		c.closeAll()
		return nil, err
	}
	return c, nil
}

// Endpoints are the member's client addresses.
func (s *Shared) Endpoints() []string { return s.c.Endpoints() }

// Stop stops the member and removes its data.
func (s *Shared) Stop() {
	s.c.closeAll()
	_ = os.RemoveAll(s.dir)
}

// stderrSink writes the shared member's log lines to stderr, but for the noise of closing (Cluster.closing).
type stderrSink struct{ s *testSink }

func (w stderrSink) Write(p []byte) (int, error) {
	if w.s.closing.Load() > 0 && strings.Contains(string(p), "setting up serving from embedded etcd failed") {
		return len(p), nil
	}
	return os.Stderr.Write(p)
}
