package storage

import (
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/etcdtest"
	"go.uber.org/zap/zaptest"
)

func TestDbgKill(t *testing.T) {
	c := etcdtest.Start(t, 3)
	clusters.Store(t, c)
	p := newPlace(t, EngineEtcd)
	b, err := p.openWith(Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	put(b, "x")
	leader := c.Leader()
	start := time.Now()
	c.Kill(leader)
	t.Logf("kill took %v", time.Since(start))
	for i := 0; i < 5; i++ {
		err := put(b, "y")
		t.Logf("%v: %v", time.Since(start), err)
	}
}
