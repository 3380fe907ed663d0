package server

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/paging"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
)

// GetProvider returns one provider.
func (s *Server) GetProvider(_ context.Context, req *providerv1.GetProviderRequest) (*providerv1.Provider, error) {
	id, err := domain.ParseProviderName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	return s.store.GetProvider(id)
}

// ListProviders lists providers by filter and order. The registry of a gmina holds hundreds of providers, so a
// scan of one snapshot is cheaper than keeping an index in step.
func (s *Server) ListProviders(_ context.Context, req *providerv1.ListProvidersRequest) (*providerv1.ListProvidersResponse, error) {
	size, err := paging.Size("page_size", req.GetPageSize(), 50, 1000)
	if err != nil {
		return nil, err
	}
	keep, err := domain.ParseProviderFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	order, err := domain.ParseProviderOrder(req.GetOrderBy())
	if err != nil {
		return nil, err
	}
	digest := paging.Digest(&providerv1.ListProvidersRequest{Filter: req.GetFilter(), OrderBy: req.GetOrderBy()})
	offset, err := paging.Decode(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	all, err := s.store.Providers()
	if err != nil {
		return nil, err
	}
	docs := make([]domain.ProviderDoc, 0, len(all))
	for _, p := range all {
		if d := domain.NewProviderDoc(p); keep(d) {
			docs = append(docs, d)
		}
	}
	slices.SortFunc(docs, order)
	pg, next := paging.Page(docs, offset, size, digest)
	resp := &providerv1.ListProvidersResponse{NextPageToken: next, TotalSize: int32(len(docs))}
	for _, d := range pg {
		resp.Providers = append(resp.Providers, d.P)
	}
	return resp, nil
}

// CreateProvider validates and registers a provider; a NIP, KRS or REGON already registered is refused.
func (s *Server) CreateProvider(ctx context.Context, req *providerv1.CreateProviderRequest) (*providerv1.Provider, error) {
	if req.GetProvider() == nil {
		return nil, required("provider")
	}
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	id := strings.ToLower(req.GetProviderId())
	if id != "" && !domain.IsUUID(id) {
		return nil, domain.Invalid("provider_id", domain.ReasonInvalidFormat, "must be a UUID")
	}
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	p := proto.Clone(req.GetProvider()).(*providerv1.Provider)
	domain.ClearOutputOnly(p)
	domain.NormaliseProvider(p)
	var v domain.Violations
	domain.ValidateProvider(p, "provider.", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, _, err := s.store.CreateProvider(ctx, id, p, req.GetRequestId(), paging.RequestHash(req))
	return out, err
}

// errNotWritable refuses fields provider staff may not change, one violation per field.
func errNotWritable(paths []string) error {
	e := &apierr.Error{
		Kind:    apierr.KindPermissionDenied,
		Reason:  "FIELD_NOT_WRITABLE",
		Message: "provider staff may change only address, teryt_code, phones, email, website, description and accreditations",
	}
	for _, p := range paths {
		e.Violations = append(e.Violations, apierr.FieldViolation{
			Field: "provider." + p, Reason: domain.ReasonNotWritable,
			Description: "provider staff may not change this field; ask the CUS",
		})
	}
	return e
}

// UpdateProvider applies a field-masked update, atomically checking the etag. Provider staff may update their
// own provider's contact fields only.
func (s *Server) UpdateProvider(ctx context.Context, req *providerv1.UpdateProviderRequest) (*providerv1.Provider, error) {
	patch := req.GetProvider()
	if patch == nil {
		return nil, required("provider")
	}
	id, err := domain.ParseProviderName("provider.name", patch.GetName())
	if err != nil {
		return nil, err
	}
	mask := req.GetUpdateMask().GetPaths()
	paths, err := domain.MaskPaths("update_mask", patch, mask)
	if err != nil {
		return nil, err
	}
	explicit := len(mask) > 0 && !(len(mask) == 1 && mask[0] == "*")
	sc := scopeOf(ctx, "UpdateProvider")
	if !sc.all {
		if sc.provider != id {
			return nil, domain.ErrNotOwnProvider
		}
		if explicit {
			if bad := domain.ForbiddenForProviderStaff(paths, true, nil, nil); len(bad) > 0 {
				return nil, errNotWritable(bad)
			}
		}
	}
	normPatch := proto.Clone(patch).(*providerv1.Provider)
	domain.NormaliseProvider(normPatch)
	return s.store.UpdateProvider(ctx, id, func(cur *providerv1.Provider) error {
		if err := checkEtag(patch.GetEtag(), cur.GetEtag()); err != nil {
			return err
		}
		if !sc.all && !explicit {
			if bad := domain.ForbiddenForProviderStaff(paths, false, cur, normPatch); len(bad) > 0 {
				return errNotWritable(bad)
			}
		}
		domain.ApplyMask(cur, patch, paths)
		domain.NormaliseProvider(cur)
		var v domain.Violations
		domain.ValidateProvider(cur, "provider.", &v)
		return v.Err()
	})
}

// DeleteProvider deletes a provider that has no agreements.
func (s *Server) DeleteProvider(ctx context.Context, req *providerv1.DeleteProviderRequest) (*emptypb.Empty, error) {
	id, err := domain.ParseProviderName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	err = s.store.DeleteProvider(ctx, id, func(cur *providerv1.Provider) error {
		return checkEtag(req.GetEtag(), cur.GetEtag())
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// ImportProviders imports a CSV file of providers, or reports what it would do (dry run).
func (s *Server) ImportProviders(ctx context.Context, req *providerv1.ImportProvidersRequest) (*providerv1.ImportProvidersResponse, error) {
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	var field, text string
	switch src := req.GetSource().(type) {
	case *providerv1.ImportProvidersRequest_Csv:
		field, text = "csv", src.Csv
	case *providerv1.ImportProvidersRequest_CsvFile:
		if len(src.CsvFile) > domain.MaxImportBytes {
			return nil, domain.Invalid("csv_file", domain.ReasonTooLong, "the file is larger than %d bytes; split it", domain.MaxImportBytes)
		}
		field, text = "csv_file", domain.DecodeCSVText(src.CsvFile)
	default:
		return nil, domain.Invalid("csv", domain.ReasonRequired, "send the file as csv (text) or csv_file (bytes)")
	}
	file, err := domain.ParseProvidersCSV(field, text)
	if err != nil {
		return nil, err
	}
	var ids []string
	if !req.GetDryRun() {
		ids = make([]string, len(file.Rows))
		for i := range ids {
			ids[i] = uuid.Must(uuid.NewV7()).String()
		}
	}
	out, err := s.store.Import(ctx, file, ids, req.GetDryRun(), req.GetRequestId(), paging.RequestHash(req))
	if err != nil {
		return nil, err
	}
	// Counts only: the rows are organisation data, but the log is no place for a file's content.
	s.log.Info("providers imported", zap.Bool("dry_run", out.GetDryRun()), zap.Int("rows", len(out.GetRows())),
		zap.Int32("created", out.GetCreatedCount()), zap.Int32("updated", out.GetUpdatedCount()),
		zap.Int32("unchanged", out.GetUnchangedCount()), zap.Int32("rejected", out.GetRejectedCount()))
	return out, nil
}
