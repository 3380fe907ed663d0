package server

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// serviceCache keeps decoded services that were read recently, so the hottest reads (GetService, result pages)
// skip the bbolt read and the protobuf decode. Entries carry the revision they were read or written at; a
// deletion leaves a tombstone, so a reader that loaded an older version cannot put it back after a newer write.
// Cached messages are shared between calls and must never be mutated.
type serviceCache struct {
	mu  sync.RWMutex
	m   map[string]*cachedService
	max int
	// floor stands for the writes of services the cache did not hold (an import, a federation sync, a
	// purge): the newest of their revisions. A reader's put of a service the cache does not hold is refused
	// below it, since the reader may have read before one of those writes. Recording each of them as an entry
	// instead filled the cache with them: an import of 500,000 services evicted every hot entry for markers
	// nobody reads.
	floor int64
}

type cachedService struct {
	rev int64
	svc *cataloguev1.Service // nil: deleted at rev, or (notHeld) written at rev and not kept
	// notHeld marks a write recorded without its service (invalidate): a reader may fill it at that revision.
	notHeld bool
	// wire is svc's protobuf encoding, made on first send and reused by every later one.
	wire atomic.Pointer[[]byte]
}

func newServiceCache(max int) *serviceCache {
	return &serviceCache{m: make(map[string]*cachedService, max), max: max}
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

// entryOf returns the cache entry holding exactly this message, if any.
func (c *serviceCache) entryOf(svc *cataloguev1.Service) *cachedService {
	c.mu.RLock()
	e := c.m[strings.TrimPrefix(svc.GetName(), domain.ServicePrefix)]
	c.mu.RUnlock()
	if e == nil || e.svc != svc {
		return nil
	}
	return e
}

// put records svc at rev unless the cache already knows a newer (or equal) state of it. rev is the revision the
// state is known at: a writer's commit, or for a reader a revision at or below the one it read at (the store's
// revision before the read, or the record's if newer).
func (c *serviceCache) put(id string, rev int64, svc *cataloguev1.Service) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		if e.rev > rev || (e.rev == rev && !(e.notHeld && svc != nil)) {
			return
		}
	} else if rev < c.floor {
		return // perhaps read before a write the cache recorded only in its floor
	}
	if len(c.m) >= c.max {
		c.evictLocked()
	}
	c.m[id] = &cachedService{rev: rev, svc: svc}
}

// evictLocked drops about a tenth, in map order (effectively random): cheap, and good enough for a read cache.
func (c *serviceCache) evictLocked() {
	n := c.max / 10
	for k := range c.m {
		if n <= 0 {
			break
		}
		delete(c.m, k)
		n--
	}
}

// drop records that id was deleted at rev: a tombstone where the cache holds it, its floor otherwise.
func (c *serviceCache) drop(id string, rev int64) { c.written(id, rev, false) }

// invalidate records that id was written at rev without keeping the service: a reader that loaded an older
// version cannot put it back, and the first reader of rev caches it. An import or a federation sync writes
// many thousands of services nobody has asked for yet; keeping them, or an entry for each, would fill the cache
// with them and push the hot services out: an entry the cache holds becomes a marker, any other write only
// raises the floor.
func (c *serviceCache) invalidate(id string, rev int64) { c.written(id, rev, true) }

// written records a write at rev that the cache does not keep: a deletion, or (notHeld) a new version.
func (c *serviceCache) written(id string, rev int64, notHeld bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok {
		c.floor = max(c.floor, rev)
		return
	}
	if e.rev < rev {
		c.m[id] = &cachedService{rev: rev, notHeld: notHeld}
	}
}

// wireCodec is the proto codec, except that a cached service is sent as the bytes encoded the first time it
// was sent: GetService of a hot service then costs a map lookup, not a marshal. Anything else, and every
// decode, is the standard codec's.
type wireCodec struct {
	base  encoding.CodecV2
	cache *serviceCache
}

func (w wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case *cataloguev1.Service:
		if e := w.cache.entryOf(m); e != nil {
			b, err := e.encoded()
			if err != nil {
				return nil, err
			}
			return mem.BufferSlice{mem.SliceBuffer(b)}, nil
		}
	case *cataloguev1.SearchServicesResponse:
		return w.marshalSearch(m)
	}
	return w.base.Marshal(v)
}

// encoded returns the entry's service encoded, encoding it on first use.
func (e *cachedService) encoded() ([]byte, error) {
	if b := e.wire.Load(); b != nil {
		return *b, nil
	}
	b, err := proto.Marshal(e.svc)
	if err != nil {
		return nil, err
	}
	e.wire.Store(&b)
	return b, nil
}

// marshalSearch encodes a search response with the cached encoding of each service of the page (a result
// page is read through the cache, so after its first search a service is encoded once, not per response):
// marshalling twenty services was about a sixth of the CPU of a whole search call. The bytes are those
// proto.Marshal gives: results (field 1) first, then the other fields in number order.
func (w wireCodec) marshalSearch(resp *cataloguev1.SearchServicesResponse) (mem.BufferSlice, error) {
	results := resp.GetResults()
	if len(results) == 0 {
		return w.base.Marshal(resp)
	}
	// First the sizes, so that the response is written into one buffer of its final size (growing it by
	// appending copied each service several times, which cost more than the encoding saved).
	svcs := make([][]byte, len(results))
	sizes := make([]int, len(results))
	total := 0
	for i, r := range results {
		if len(r.ProtoReflect().GetUnknown()) > 0 {
			return w.base.Marshal(resp)
		}
		size := 0
		if svc := r.GetService(); svc != nil {
			e := w.cache.entryOf(svc)
			var err error
			if e != nil {
				svcs[i], err = e.encoded()
			} else {
				svcs[i], err = proto.Marshal(svc)
			}
			if err != nil {
				return nil, err
			}
			size += 1 + protowire.SizeBytes(len(svcs[i]))
		}
		if math.Float32bits(r.GetScore()) != 0 {
			size += 1 + 4
		}
		if r.DistanceMeters != nil {
			size += 1 + protowire.SizeVarint(uint64(int64(*r.DistanceMeters)))
		}
		sizes[i] = size
		total += 1 + protowire.SizeBytes(size)
	}
	// Every other field, whatever fields the message gains later, shared (not copied) into a message
	// without the results.
	rest := &cataloguev1.SearchServicesResponse{}
	rm := rest.ProtoReflect()
	resp.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Number() != 1 {
			rm.Set(fd, v)
		}
		return true
	})
	rm.SetUnknown(resp.ProtoReflect().GetUnknown())
	buf := make([]byte, 0, total+proto.Size(rest))
	for i, r := range results {
		buf = protowire.AppendTag(buf, 1, protowire.BytesType)
		buf = protowire.AppendVarint(buf, uint64(sizes[i]))
		if r.GetService() != nil {
			buf = protowire.AppendTag(buf, 1, protowire.BytesType)
			buf = protowire.AppendBytes(buf, svcs[i])
		}
		if score := math.Float32bits(r.GetScore()); score != 0 {
			buf = protowire.AppendTag(buf, 2, protowire.Fixed32Type)
			buf = protowire.AppendFixed32(buf, score)
		}
		if r.DistanceMeters != nil {
			buf = protowire.AppendTag(buf, 3, protowire.VarintType)
			buf = protowire.AppendVarint(buf, uint64(int64(*r.DistanceMeters)))
		}
	}
	buf, err := proto.MarshalOptions{}.MarshalAppend(buf, rest)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
}

func (w wireCodec) Unmarshal(data mem.BufferSlice, v any) error { return w.base.Unmarshal(data, v) }

func (w wireCodec) Name() string { return w.base.Name() }
