package search

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// gatedWriter blocks its first Write until released, standing for a snapshot file on a slow disk.
type gatedWriter struct {
	started chan struct{}
	release chan struct{}
	buf     bytes.Buffer
	first   bool
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	if !g.first {
		g.first = true
		close(g.started)
		<-g.release
	}
	return g.buf.Write(p)
}

// TestSnapshotDoesNotStallSearches: while a snapshot is being written a write arrives and waits for it; the
// searches that come after that write are answered meanwhile. (A sync.RWMutex admits no new reader once a
// writer waits: with the writer waiting at the index's lock, every search would wait for the whole snapshot,
// about half a second at 500,000 services.) The write lands once the snapshot is done, and the snapshot is
// the state before it.
func TestSnapshotDoesNotStallSearches(t *testing.T) {
	s := newSynth(3)
	docs := make([]Doc, 300)
	for i := range docs {
		docs[i] = s.doc(i)
	}
	ix := New()
	ix.BulkLoad(docs[:200])
	g := &gatedWriter{started: make(chan struct{}), release: make(chan struct{})}
	snapDone := make(chan error, 1)
	go func() { snapDone <- ix.WriteSnapshot(g, SnapshotMeta{Revision: 7}) }()
	<-g.started

	writeDone := make(chan struct{})
	go func() {
		ix.UpsertBatch(docs[200:])
		ix.Delete(docs[0].ID, docs[0].Revision+1)
		close(writeDone)
	}()
	time.Sleep(50 * time.Millisecond) // the writer is waiting by now
	select {
	case <-writeDone:
		t.Fatal("a write went through while the snapshot was being written")
	default:
	}
	searched := make(chan Result, 1)
	go func() { searched <- ix.Search(Query{Text: docs[1].Name, Limit: 5}) }()
	select {
	case r := <-searched:
		if r.Total == 0 {
			t.Fatalf("search during the snapshot found nothing for %q", docs[1].Name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a search waited for the snapshot behind a waiting write")
	}
	close(g.release)
	if err := <-snapDone; err != nil {
		t.Fatal(err)
	}
	<-writeDone
	if ix.Len() != 299 {
		t.Fatalf("after the write %d documents, want 299", ix.Len())
	}
	loaded, meta, err := ReadSnapshot(io.Reader(&g.buf))
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Len() != 200 || meta.Docs != 200 {
		t.Fatalf("the snapshot holds %d documents (meta %d), want the 200 from before the write", loaded.Len(), meta.Docs)
	}
}
