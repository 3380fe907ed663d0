package server

import (
	"bytes"
	"context"
	"sort"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/paging"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// GetProgramme returns one programme.
func (s *Server) GetProgramme(_ context.Context, req *cataloguev1.GetProgrammeRequest) (*cataloguev1.Programme, error) {
	id, err := domain.ParseName("name", domain.ProgrammePrefix, req.GetName())
	if err != nil {
		return nil, err
	}
	p, _, err := s.store.GetProgramme(id)
	return p, err
}

// ListProgrammes lists programmes by display name in Polish order. A gmina has a handful of programmes, so
// this reads them all rather than keeping an index.
func (s *Server) ListProgrammes(_ context.Context, req *cataloguev1.ListProgrammesRequest) (*cataloguev1.ListProgrammesResponse, error) {
	size, err := paging.Size("page_size", req.GetPageSize(), 50, 1000)
	if err != nil {
		return nil, err
	}
	digest := paging.Digest(&cataloguev1.ListProgrammesRequest{})
	offset, err := paging.Decode(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	type entry struct {
		key []byte
		p   *cataloguev1.Programme
	}
	var all []entry
	if err := s.store.ForEachProgramme(func(p *cataloguev1.Programme, _ int64) error {
		all = append(all, entry{domain.SortKey(p.GetDisplayName()), p})
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Slice(all, func(i, j int) bool {
		if c := bytes.Compare(all[i].key, all[j].key); c != 0 {
			return c < 0
		}
		return all[i].p.GetName() < all[j].p.GetName()
	})
	resp := &cataloguev1.ListProgrammesResponse{}
	for i := offset; i < len(all) && i < offset+size; i++ {
		resp.Programmes = append(resp.Programmes, all[i].p)
	}
	if offset+size < len(all) {
		resp.NextPageToken = paging.Encode(offset+size, digest)
	}
	return resp, nil
}

// CreateProgramme validates and stores a programme; the services it names must exist.
func (s *Server) CreateProgramme(ctx context.Context, req *cataloguev1.CreateProgrammeRequest) (*cataloguev1.Programme, error) {
	if req.GetProgramme() == nil {
		return nil, required("programme")
	}
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	id := strings.ToLower(req.GetProgrammeId())
	if id != "" && !domain.IsUUID(id) {
		return nil, apierr.Invalid("programme_id", "must be a UUID")
	}
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	p := proto.Clone(req.GetProgramme()).(*cataloguev1.Programme)
	domain.ClearOutputOnly(p)
	p.OriginTerc = s.terc
	var v apierr.Violations
	domain.ValidateProgramme(p, "programme.", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, _, _, err := s.store.CreateProgramme(ctx, id, p, req.GetRequestId(), paging.RequestHash(req))
	return out, err
}

// UpdateProgramme applies a field-masked update, atomically checking the etag.
func (s *Server) UpdateProgramme(ctx context.Context, req *cataloguev1.UpdateProgrammeRequest) (*cataloguev1.Programme, error) {
	patch := req.GetProgramme()
	if patch == nil {
		return nil, required("programme")
	}
	id, err := domain.ParseName("programme.name", domain.ProgrammePrefix, patch.GetName())
	if err != nil {
		return nil, err
	}
	fields, err := domain.MaskPaths("update_mask", patch, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	out, _, err := s.store.UpdateProgramme(ctx, id, func(cur *cataloguev1.Programme) error {
		if cur.GetOriginTerc() != s.terc {
			return domain.ErrReadOnlyOrigin
		}
		if patch.GetEtag() != "" && patch.GetEtag() != cur.GetEtag() {
			return apierr.ErrStaleEtag
		}
		domain.ApplyMask(cur, patch, fields)
		var v apierr.Violations
		domain.ValidateProgramme(cur, "programme.", &v)
		return v.Err()
	})
	return out, err
}

// DeleteProgramme deletes a programme of this instance.
func (s *Server) DeleteProgramme(ctx context.Context, req *cataloguev1.DeleteProgrammeRequest) (*emptypb.Empty, error) {
	id, err := domain.ParseName("name", domain.ProgrammePrefix, req.GetName())
	if err != nil {
		return nil, err
	}
	_, err = s.store.DeleteProgramme(ctx, id, func(cur *cataloguev1.Programme) error {
		if cur.GetOriginTerc() != s.terc {
			return domain.ErrReadOnlyOrigin
		}
		if req.GetEtag() != "" && req.GetEtag() != cur.GetEtag() {
			return apierr.ErrStaleEtag
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
