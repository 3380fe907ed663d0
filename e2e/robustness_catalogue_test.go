//go:build robustness

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// pending says which write of a ledger entry got no answer: after the restart either state is allowed.
type pending int

const (
	settled pending = iota
	pendingCreate
	pendingUpdate
	pendingDelete
)

// catEntry is the ledger of one catalogue service.
type catEntry struct {
	name    string
	rev     int64 // revision of the last acknowledged create or update (from its etag)
	etag    string
	live    bool // created (acknowledged or read back) and not deleted
	gone    bool // deleted (acknowledged or read back), or an unanswered create that did not happen
	pending pending
	acked   int64 // acknowledged writes since the last verification
}

// catalogueLoad: concurrent creates, updates and deletes of services as an organiser; each writer owns its
// services, so that the writers never race each other's etags.
type catalogueLoad struct {
	k       *stack
	client  cataloguev1.CatalogueServiceClient
	token   string
	mu      sync.Mutex
	entries []*catEntry
	owned   map[int][]*catEntry // live or pending entries by writer
	highest int64               // highest acknowledged or observed revision
}

func (c *catalogueLoad) setup(t *testing.T, k *stack) {
	c.k = k
	c.client = cataloguev1.NewCatalogueServiceClient(k.conn("catalogue"))
	c.token = k.tokens.token(t, roleEditor)
	c.owned = map[int][]*catEntry{}
}

func randomUUID(rng *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// description pads a text so that the disk-full run fills the disk sooner.
func description(rng *rand.Rand) string {
	return "Usługa testu odporności. " + strings.Repeat(fmt.Sprintf("%08x ", rng.Uint32()), 100)
}

func (c *catalogueLoad) write(ctx context.Context, w int, rng *rand.Rand) error {
	ctx = withToken(ctx, c.token)
	c.mu.Lock()
	var live []*catEntry
	for _, e := range c.owned[w] {
		if e.live && e.pending == settled {
			live = append(live, e)
		}
	}
	c.mu.Unlock()
	if len(live) < 3 || rng.IntN(10) < 4 {
		id := randomUUID(rng)
		e := &catEntry{name: "services/" + id, pending: pendingCreate}
		c.mu.Lock()
		c.entries = append(c.entries, e)
		c.owned[w] = append(c.owned[w], e)
		c.mu.Unlock()
		svc, err := c.client.CreateService(ctx, &cataloguev1.CreateServiceRequest{ServiceId: id, Service: &cataloguev1.Service{
			DisplayName: "Odporność " + id[:8], Description: description(rng),
			Areas: []cataloguev1.Area{cataloguev1.Area_AREA_CULTURE},
		}})
		if err != nil {
			return err
		}
		c.ack(e, svc.GetEtag(), true)
		return nil
	}
	e := live[rng.IntN(len(live))]
	c.mu.Lock()
	etag := e.etag
	c.mu.Unlock()
	if rng.IntN(4) == 0 {
		c.mu.Lock()
		e.pending = pendingDelete
		c.mu.Unlock()
		if _, err := c.client.DeleteService(ctx, &cataloguev1.DeleteServiceRequest{Name: e.name, Etag: etag}); err != nil {
			return err
		}
		c.mu.Lock()
		e.live, e.gone, e.pending = false, true, settled
		e.acked++
		c.mu.Unlock()
		return nil
	}
	c.mu.Lock()
	e.pending = pendingUpdate
	c.mu.Unlock()
	svc, err := c.client.UpdateService(ctx, &cataloguev1.UpdateServiceRequest{
		Service:    &cataloguev1.Service{Name: e.name, Etag: etag, Description: description(rng)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	})
	if err != nil {
		return err
	}
	c.ack(e, svc.GetEtag(), true)
	return nil
}

func (c *catalogueLoad) ack(e *catEntry, etag string, counted bool) {
	rev := etagRevision(etag)
	c.mu.Lock()
	defer c.mu.Unlock()
	e.etag, e.rev, e.live, e.gone, e.pending = etag, rev, true, false, settled
	if counted {
		e.acked++
	}
	if rev > c.highest {
		c.highest = rev
	}
}

func (c *catalogueLoad) verify(t *testing.T, ctx context.Context) (verified, reads int64, lost []string) {
	ctx = withToken(ctx, c.token)
	c.mu.Lock()
	entries := append([]*catEntry(nil), c.entries...)
	highest := c.highest
	c.mu.Unlock()

	var mu sync.Mutex
	report := func(format string, args ...any) {
		mu.Lock()
		lost = append(lost, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	work := make(chan *catEntry)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				got, err := retryRead(ctx, func(ctx context.Context) (*cataloguev1.Service, error) {
					return c.client.GetService(ctx, &cataloguev1.GetServiceRequest{Name: e.name})
				})
				found := err == nil
				if err != nil && status.Code(err) != codes.NotFound {
					report("read %s: %v", e.name, err)
					continue
				}
				rev := etagRevision(got.GetEtag())
				ok := true
				switch {
				case e.pending == pendingCreate:
					// Either outcome; adopted below.
				case e.pending == pendingDelete && !found:
				case e.gone && found:
					ok = false
					report("%s: deleted (acknowledged) but back after the restart at %s", e.name, got.GetEtag())
				case e.live && !found:
					ok = false
					report("%s: acknowledged at %s but missing after the restart", e.name, e.etag)
				case e.live && rev < e.rev:
					ok = false
					report("%s: acknowledged at %s but read back older, %s", e.name, e.etag, got.GetEtag())
				}
				c.mu.Lock()
				if ok {
					verified += e.acked
					e.acked = 0
				}
				if found {
					e.etag, e.rev, e.live, e.gone = got.GetEtag(), rev, true, false
				} else {
					e.live, e.gone = false, true
				}
				e.pending = settled
				c.mu.Unlock()
				mu.Lock()
				reads++
				mu.Unlock()
			}
		}()
	}
	for _, e := range entries {
		work <- e
	}
	close(work)
	wg.Wait()

	changes, err := retryRead(ctx, func(ctx context.Context) (*cataloguev1.ListChangesResponse, error) {
		return c.client.ListChanges(ctx, &cataloguev1.ListChangesRequest{PageSize: 1})
	})
	switch {
	case err != nil:
		lost = append(lost, fmt.Sprintf("ListChanges: %v", err))
	case changes.GetLatestRevision() < highest:
		lost = append(lost, fmt.Sprintf("the catalogue's revision went back: %d after the restart, %d acknowledged", changes.GetLatestRevision(), highest))
	default:
		maxInt64(&c.mu, &c.highest, changes.GetLatestRevision())
	}
	reads++

	// Drop what is settled gone from the writers' working sets (the ledger keeps it: it must stay gone).
	c.mu.Lock()
	for w, list := range c.owned {
		keep := list[:0]
		for _, e := range list {
			if e.live {
				keep = append(keep, e)
			}
		}
		c.owned[w] = keep
	}
	c.mu.Unlock()
	return verified, reads, lost
}

func (c *catalogueLoad) probe(ctx context.Context) error {
	c.mu.Lock()
	var name string
	for _, e := range c.entries {
		if e.live && e.pending == settled {
			name = e.name
			break
		}
	}
	c.mu.Unlock()
	if name == "" {
		name = demoServiceName
	}
	_, err := c.client.GetService(withToken(ctx, c.token), &cataloguev1.GetServiceRequest{Name: name})
	return err
}
