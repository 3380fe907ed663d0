package server

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/grpcserver"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// errAuditUnavailable refuses a read whose audit entry could not be written: personal data is never served
// unaudited (fail closed).
var errAuditUnavailable = apierr.New(apierr.KindUnavailable, "AUDIT_UNAVAILABLE",
	"the access could not be recorded in the audit log, so no data is returned; retry later")

// read records an allowed read of personal data, naming the records disclosed (a list's page, a watch's batch,
// an export's records). When the entry cannot be written the read must not be answered: it returns
// errAuditUnavailable, and the cause is logged once with the request id (never with values).
func (s *Server) read(ctx context.Context, action, resource string, disclosed []string, reason string) error {
	if reason == "" {
		reason = "read"
	}
	e := entry(ctx, action, resource, referralv1.AuditDecision_AUDIT_DECISION_ALLOWED, reason)
	e.Disclosed = disclosed
	if err := s.st.Audit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("audit entry not written: read refused", zap.String("action", action), zap.String("request_id", grpcserver.RequestID(ctx)), zap.Error(err))
		return errAuditUnavailable
	}
	return nil
}

// disclose audits the outcome of a read: a failure best-effort (the call fails anyway), a success fail-closed.
func (s *Server) disclose(ctx context.Context, action, resource string, disclosed []string, err error) error {
	if err != nil {
		s.audit(ctx, action, resource, err)
		return err
	}
	return s.read(ctx, action, resource, disclosed, "")
}

// Run runs the service's background workers until ctx ends: retries of deferred capacity releases, the
// summaries of anonymous refusals and the anchoring of the audit chain's head. When ctx ends it writes the last
// summary and anchor and returns; the caller joins it before closing the store (so nothing is lost at
// shutdown, and nothing writes to a closed file).
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.RetryReleases(ctx, s.opts.ReleaseRetry) })
	wg.Go(func() { s.runWebhooks(ctx) })
	wg.Go(func() {
		t := time.NewTicker(s.opts.AuditInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				s.FlushAudit(context.WithoutCancel(ctx))
				return
			case <-t.C:
				s.FlushAudit(ctx)
			}
		}
	})
	wg.Wait()
}

// FlushAudit writes the summary of the refusals counted since the last one and, when --audit-anchor-file is
// set, anchors the chain's head there. Run calls it each AuditInterval and at shutdown.
func (s *Server) FlushAudit(ctx context.Context) {
	s.denials.flush(ctx, s.st, s.log)
	if s.opts.AuditAnchorFile != "" {
		if err := s.anchor(); err != nil {
			s.log.Error("audit anchor not written", zap.String("file", s.opts.AuditAnchorFile), zap.Error(err))
		}
	}
}

// anchor appends "<time> <sequence> <hash>" of the chain's head to the anchor file (fsync'd) when the head
// moved since the last anchor. The file lives outside the data file (ideally on another disk or a WORM
// share), so a chain rewritten together with its head no longer matches it.
func (s *Server) anchor() error {
	s.anchorMu.Lock()
	defer s.anchorMu.Unlock()
	seq, hash, err := s.st.AuditHead()
	if err != nil || seq == 0 || seq == s.lastAnchor {
		return err
	}
	f, err := os.OpenFile(s.opts.AuditAnchorFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s %d %s\n", s.now().Format(time.RFC3339), seq, hash)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		s.lastAnchor = seq
	}
	return err
}

// readAnchors parses the anchor file (store.ReadAnchors): a missing file has no anchors, a malformed line is
// an error.
func readAnchors(path string) ([]store.Anchor, error) { return store.ReadAnchors(path) }
