package server

import (
	"sync"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// serviceCache keeps decoded services that were read recently, so the hottest reads (GetService, result pages)
// skip the bbolt read and the protobuf decode. Entries carry the revision they were read or written at; a
// deletion leaves a tombstone, so a reader that loaded an older version cannot put it back after a newer write.
// Cached messages are shared between calls and must never be mutated.
type serviceCache struct {
	mu  sync.RWMutex
	m   map[string]cachedService
	max int
}

type cachedService struct {
	rev int64
	svc *cataloguev1.Service // nil: deleted at rev
}

func newServiceCache(max int) *serviceCache {
	return &serviceCache{m: make(map[string]cachedService, max), max: max}
}

func (c *serviceCache) get(id string) (*cataloguev1.Service, bool) {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || e.svc == nil {
		return nil, false
	}
	return e.svc, true
}

// put records svc at rev unless the cache already knows a newer (or equal) state of it.
func (c *serviceCache) put(id string, rev int64, svc *cataloguev1.Service) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok && e.rev >= rev {
		return
	}
	if len(c.m) >= c.max {
		// Drop about a tenth, in map order (effectively random): cheap, and good enough for a read cache.
		n := c.max / 10
		for k := range c.m {
			if n <= 0 {
				break
			}
			delete(c.m, k)
			n--
		}
	}
	c.m[id] = cachedService{rev: rev, svc: svc}
}

// drop records that id was deleted at rev.
func (c *serviceCache) drop(id string, rev int64) { c.put(id, rev, nil) }
