package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"runtime"
	"strings"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
	"github.com/cus-suite/cus/platform/paging"
	"github.com/cus-suite/cus/platform/sheet"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// ImportServices imports services from a spreadsheet or an HSDS JSON export, or reports what it would do.
//
// With a request id, a repeat returns the first report: the report is recorded in the transaction of the last
// batch, and every batch's transaction first looks for a report another attempt under the id recorded (a
// retry on another replica at the same time), which is then the answer; another file under the id is
// REQUEST_ID_REUSED.
//
// The rows are written in batches of store.ImportBatch (fewer on etcd, whose transactions are limited:
// Store.ImportBatchSize), each one transaction with its change-feed entries, so a file of thousands of services
// costs a few commits. A failure (a full disk) stops the import after the batches
// already committed: the error is returned, and running the file again completes it, since rows that are
// already stored report UNCHANGED.
func (s *Server) ImportServices(ctx context.Context, req *cataloguev1.ImportServicesRequest) (*cataloguev1.ImportServicesResponse, error) {
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	content := req.GetContent()
	if len(bytes.TrimSpace(content)) == 0 {
		return nil, apierr.Invalid("content", "is required: the file's bytes (base64 in JSON)")
	}
	if len(content) > domain.MaxImportBytes {
		return nil, apierr.Invalid("content", "the file is larger than 4 MiB; split it")
	}
	format := req.GetFormat()
	if format == cataloguev1.ImportFormat_IMPORT_FORMAT_UNSPECIFIED {
		format = detectImportFormat(content)
	}
	hash := importRequestHash(req)
	if !req.GetDryRun() {
		if rep, ok, err := s.store.ImportReport(req.GetRequestId(), hash); err != nil || ok {
			if err != nil {
				return nil, err
			}
			return localizeReport(ctx, rep), nil
		}
	}
	var items []*domain.ImportItem
	switch format {
	case cataloguev1.ImportFormat_IMPORT_FORMAT_CSV, cataloguev1.ImportFormat_IMPORT_FORMAT_XLSX:
		f := sheet.CSV
		if format == cataloguev1.ImportFormat_IMPORT_FORMAT_XLSX {
			f = sheet.XLSX
		}
		t, err := sheet.Read("content", content, f, sheet.Limits{MaxBytes: domain.MaxImportBytes, MaxRows: domain.MaxImportRows})
		if err != nil {
			return nil, err
		}
		file, err := domain.ParseServicesSheet("content", t)
		if err != nil {
			return nil, err
		}
		items = file.Items()
	case cataloguev1.ImportFormat_IMPORT_FORMAT_HSDS_JSON:
		var err error
		if items, err = domain.ParseHSDS("content", content); err != nil {
			return nil, err
		}
	default:
		return nil, apierr.Invalid("format", "must be IMPORT_FORMAT_CSV, IMPORT_FORMAT_XLSX or IMPORT_FORMAT_HSDS_JSON")
	}
	if len(items) == 0 {
		return nil, apierr.Invalid("content", "has no rows to import")
	}
	out := &cataloguev1.ImportServicesResponse{DryRun: req.GetDryRun(), Format: format, Rows: make([]*cataloguev1.ImportServiceRow, 0, len(items))}
	var answer store.ImportAnswer
	if !req.GetDryRun() {
		answer = store.NewImportAnswer(req.GetRequestId(), hash)
	}
	theirs, err := s.importBatches(ctx, items, req.GetDryRun(), answer, out)
	if err != nil {
		return nil, err
	}
	if theirs != nil {
		// Another attempt under the request id recorded its report first (a retry running at the same time).
		return localizeReport(ctx, theirs), nil
	}
	// Counts only: the log is no place for a file's content.
	s.log.Info("services imported", zap.Bool("dry_run", out.GetDryRun()), zap.String("format", format.String()),
		zap.Int("rows", len(out.GetRows())), zap.Int32("created", out.GetCreatedCount()), zap.Int32("updated", out.GetUpdatedCount()),
		zap.Int32("unchanged", out.GetUnchangedCount()), zap.Int32("invalid", out.GetInvalidCount()))
	return localizeReport(ctx, out), nil
}

// localizeReport returns the report with the descriptions of its rows' problems in the caller's language
// (accept-language, platform/i18n): a gmina clerk importing a spreadsheet reads "musi mieć wartość tak albo
// nie", not "must be tak or nie". The report is stored in English, so a retried request_id is answered in
// the language of the retry.
func localizeReport(ctx context.Context, rep *cataloguev1.ImportServicesResponse) *cataloguev1.ImportServicesResponse {
	lang := i18n.FromIncoming(ctx)
	if lang == i18n.English {
		return rep
	}
	out := proto.CloneOf(rep)
	for _, row := range out.GetRows() {
		for _, v := range row.GetViolations() {
			v.Description = i18n.Translate(lang, v.GetDescription())
		}
	}
	return out
}

// addImportRows adds the report of one batch's rows, planned (or written) as plans, to out.
func addImportRows(out *cataloguev1.ImportServicesResponse, batch []*domain.ImportItem, plans []domain.ImportPlan) {
	for i, it := range batch {
		row := &cataloguev1.ImportServiceRow{Row: int32(it.Row), SourceId: it.SourceID, Outcome: plans[i].Outcome,
			DisplayName: it.DisplayName, Violations: plans[i].Violations}
		switch plans[i].Outcome {
		case cataloguev1.ImportOutcome_IMPORT_OUTCOME_CREATED:
			out.CreatedCount++
		case cataloguev1.ImportOutcome_IMPORT_OUTCOME_UPDATED:
			out.UpdatedCount++
		case cataloguev1.ImportOutcome_IMPORT_OUTCOME_UNCHANGED:
			out.UnchangedCount++
		default:
			out.InvalidCount++
		}
		if row.Outcome != cataloguev1.ImportOutcome_IMPORT_OUTCOME_INVALID && it.ID != "" {
			row.Service = domain.ServicePrefix + it.ID
		}
		out.Rows = append(out.Rows, row)
	}
}

// importStage is one batch of an import on its way through the pipeline.
type importStage struct {
	start   int
	last    bool
	items   []*domain.ImportItem
	plans   []domain.ImportPlan
	bases   []int64
	written []store.Written
}

// importBatches runs an import as a pipeline of three stages, each working on its own batch at a time: planning
// (read the stored services, then check and merge the rows on every core), committing (one transaction per
// batch, on the storage's write loop) and indexing (search index, read cache, report). On two cores the
// planning of the next batch and the indexing of the last overlap the commit of the current one. report gets
// the batches in file order. A failure stops the pipeline; batches already committed stay (a re-run completes
// the file, their rows then UNCHANGED). The report is added to out, batch by batch; the last batch's
// transaction records the whole report under answer's request id. theirs is the report another attempt under
// that id recorded first: the pipeline then stops and out is not the answer.
func (s *Server) importBatches(ctx context.Context, items []*domain.ImportItem, dryRun bool, answer store.ImportAnswer, out *cataloguev1.ImportServicesResponse) (theirs *cataloguev1.ImportServicesResponse, err error) {
	defer s.beginWrite()() // from the first commit to the last index update (startup.go)
	plan := func(it *domain.ImportItem, cur *cataloguev1.Service) domain.ImportPlan {
		return domain.PlanImportRow(it, cur, s.terc, s.normaliseService)
	}
	g, gctx := errgroup.WithContext(ctx)
	planned := make(chan *importStage, 1)
	committed := make(chan *importStage, 1)
	g.Go(func() error {
		defer close(planned)
		size := s.store.ImportBatchSize()
		for start := 0; start < len(items); start += size {
			st := &importStage{start: start, last: start+size >= len(items), items: items[start:min(start+size, len(items))]}
			ids, curs, bases, err := s.store.ImportSnapshot(st.items)
			if err != nil {
				return err
			}
			for i, it := range st.items {
				switch {
				case ids[i] != "":
					it.ID = ids[i]
				case it.Key != "" && !dryRun:
					// A new service by key: a time-ordered id, so the new records are appended to the file's
					// pages (a derived, random id would rewrite pages all over the file on every commit).
					it.ID = uuid.Must(uuid.NewV7()).String()
				}
			}
			st.bases, st.plans = bases, make([]domain.ImportPlan, len(st.items))
			workers := runtime.GOMAXPROCS(0)
			chunk := (len(st.items) + workers - 1) / workers
			var pg errgroup.Group
			for w := 0; w < len(st.items); w += chunk {
				lo, hi := w, min(w+chunk, len(st.items))
				pg.Go(func() error {
					for i := lo; i < hi; i++ {
						st.plans[i] = plan(st.items[i], curs[i])
					}
					return nil
				})
			}
			_ = pg.Wait() // planning does not fail; a row's problems are in its plan
			select {
			case planned <- st:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	// The report of the batches committed so far, kept by the committer (the reader below fills out): the last
	// batch's transaction records it with that batch's rows.
	sofar := proto.CloneOf(out)
	g.Go(func() error {
		defer close(committed)
		for st := range planned {
			if !dryRun {
				ans := answer
				if st.last && ans.Req.ID != "" {
					ans.Last = func(plans []domain.ImportPlan) *cataloguev1.ImportServicesResponse {
						r := proto.CloneOf(sofar)
						addImportRows(r, st.items, plans)
						return r
					}
				}
				plans, written, other, err := s.store.ImportRows(gctx, st.items, st.plans, st.bases, plan, ans)
				if other != nil {
					theirs = other
					return errImportAnswered
				}
				if err != nil {
					if st.start > 0 {
						s.log.Warn("services import stopped after committed batches", zap.Int("rows_committed", st.start), zap.Error(err))
					}
					return err
				}
				st.plans, st.written = plans, written
				addImportRows(sofar, st.items, st.plans)
			}
			// A committed batch always reaches the reader below, even when the import is being cancelled: its
			// services are stored, so the search index and the read cache must learn of them (the reader drains
			// committed until it is closed, so this send cannot block forever).
			committed <- st
			if err := gctx.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	for st := range committed {
		s.indexedBatch(st.written)
		addImportRows(out, st.items, st.plans)
	}
	err = g.Wait()
	if theirs != nil {
		return theirs, nil
	}
	return nil, err
}

// errImportAnswered stops an import's pipeline when another attempt under its request id recorded the report.
var errImportAnswered = errors.New("the import's request id was answered by another attempt")

// indexedBatch is indexed for a committed batch: the documents are projected on every core and go into the
// search index as one batch (search.Index.UpsertBatch analyses their text on every core before it takes the
// index's write lock, then holds it a few milliseconds of documents at a time), so the rows of a batch do not
// queue one at a time for the lock, each behind the searches in progress and the other imports' rows.
func (s *Server) indexedBatch(written []store.Written) {
	if len(written) == 0 {
		return
	}
	docs := make([]search.Doc, len(written))
	workers := min(runtime.GOMAXPROCS(0), (len(written)+63)/64)
	chunk := (len(written) + workers - 1) / workers
	var g errgroup.Group
	for lo := 0; lo < len(written); lo += chunk {
		hi := min(lo+chunk, len(written))
		g.Go(func() error {
			for i := lo; i < hi; i++ {
				docs[i] = domain.IndexDoc(written[i].Service, written[i].Rev)
			}
			return nil
		})
	}
	_ = g.Wait() // projecting does not fail
	s.index.UpsertBatch(docs)
	// The read cache learns the new revisions without keeping the services, as for a federation sync: an
	// import writes thousands that nobody has asked for yet, and keeping them would hold up to the cache's
	// 20,000 decoded services in the heap through the whole import (for the collector to mark on every cycle),
	// evicting the services residents are reading. The first read of each fills it.
	for _, w := range written {
		s.cache.invalidate(strings.TrimPrefix(w.Service.GetName(), domain.ServicePrefix), w.Rev)
	}
}

// importRequestHash is paging.RequestHash(req), the same bytes, for a request with content: the hash of the
// request's deterministic encoding without its request id. The content comes first in that encoding (field 1),
// so it is hashed where it lies instead of being copied into an encoding of the whole request first (a copy
// of up to 4 MiB per import, in fresh memory).
func importRequestHash(req *cataloguev1.ImportServicesRequest) []byte {
	content := req.GetContent()
	if len(content) == 0 {
		return paging.RequestHash(req)
	}
	rest := &cataloguev1.ImportServicesRequest{Format: req.GetFormat(), DryRun: req.GetDryRun()}
	rest.ProtoReflect().SetUnknown(req.ProtoReflect().GetUnknown())
	tail, _ := proto.MarshalOptions{Deterministic: true}.Marshal(rest)
	h := sha256.New()
	h.Write(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.BytesType), uint64(len(content))))
	h.Write(content)
	h.Write(tail)
	return h.Sum(nil)
}

// detectImportFormat tells an XLSX workbook (a ZIP file), HSDS JSON (a list or an object) and CSV apart.
func detectImportFormat(b []byte) cataloguev1.ImportFormat {
	if bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		return cataloguev1.ImportFormat_IMPORT_FORMAT_XLSX
	}
	t := bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\uFEFF")))
	if len(t) > 0 && (t[0] == '[' || t[0] == '{') {
		return cataloguev1.ImportFormat_IMPORT_FORMAT_HSDS_JSON
	}
	return cataloguev1.ImportFormat_IMPORT_FORMAT_CSV
}
