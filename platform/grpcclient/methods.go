package grpcclient

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Retry says whether a call that failed with UNAVAILABLE may be sent again (to another replica). UNAVAILABLE
// may come after the first replica did the work (the connection broke before the answer came), so only a call
// whose repeat cannot do it twice is retried.
type Retry int

const (
	// Once: never retried (updates, deletes, erasure, transitions without a request id: a repeat would fail
	// with a stale etag or NOT_FOUND after the first succeeded, or do it twice).
	Once Retry = iota
	// Read: reads, searches, exports, and the opening of a watch (a stream is retried only until its first
	// message; a watch already running resumes from its revision, which is the caller's job).
	Read
	// WithRequestID: creates and transitions carrying a request_id, which the service remembers: a repeat
	// returns the first result and does nothing. A call sent without one gets a fresh id here, so its retry is
	// a repeat too.
	WithRequestID
	// Keyed: writes that are idempotent by their own key (capacity held per referral and agreement).
	Keyed
)

// Methods classifies every RPC of the suite's services. TestEveryMethodClassified checks it against the proto
// descriptors: a new RPC fails the test until it is classified here.
var Methods = map[string]Retry{
	"/grpc.health.v1.Health/Check": Read,
	"/grpc.health.v1.Health/List":  Read,
	"/grpc.health.v1.Health/Watch": Read,

	"/cus.catalogue.v1.CatalogueService/GetService":       Read,
	"/cus.catalogue.v1.CatalogueService/ListServices":     Read,
	"/cus.catalogue.v1.CatalogueService/SearchServices":   Read,
	"/cus.catalogue.v1.CatalogueService/GetProgramme":     Read,
	"/cus.catalogue.v1.CatalogueService/ListProgrammes":   Read,
	"/cus.catalogue.v1.CatalogueService/ListAreas":        Read,
	"/cus.catalogue.v1.CatalogueService/ListTargetGroups": Read,
	"/cus.catalogue.v1.CatalogueService/ListChanges":      Read,
	"/cus.catalogue.v1.CatalogueService/WatchChanges":     Read,
	"/cus.catalogue.v1.CatalogueService/ListPeers":        Read,
	"/cus.catalogue.v1.CatalogueService/ExportServices":   Read,
	"/cus.catalogue.v1.CatalogueService/CreateService":    WithRequestID,
	"/cus.catalogue.v1.CatalogueService/CreateProgramme":  WithRequestID,
	"/cus.catalogue.v1.CatalogueService/ImportServices":   WithRequestID,
	"/cus.catalogue.v1.CatalogueService/UpdateService":    Once,
	"/cus.catalogue.v1.CatalogueService/DeleteService":    Once,
	"/cus.catalogue.v1.CatalogueService/UpdateProgramme":  Once,
	"/cus.catalogue.v1.CatalogueService/DeleteProgramme":  Once,

	"/cus.provider.v1.ProviderService/GetProvider":      Read,
	"/cus.provider.v1.ProviderService/ListProviders":    Read,
	"/cus.provider.v1.ProviderService/GetAgreement":     Read,
	"/cus.provider.v1.ProviderService/ListAgreements":   Read,
	"/cus.provider.v1.ProviderService/GetAvailability":  Read,
	"/cus.provider.v1.ProviderService/ListAvailability": Read,
	"/cus.provider.v1.ProviderService/ListReservations": Read,
	"/cus.provider.v1.ProviderService/ListChanges":      Read,
	"/cus.provider.v1.ProviderService/ExportProviders":  Read,
	"/cus.provider.v1.ProviderService/ExportAgreements": Read,
	"/cus.provider.v1.ProviderService/CreateProvider":   WithRequestID,
	"/cus.provider.v1.ProviderService/ImportProviders":  WithRequestID,
	"/cus.provider.v1.ProviderService/CreateAgreement":  WithRequestID,
	"/cus.provider.v1.ProviderService/ReserveCapacity":  Keyed, // one reservation per referral and agreement; a repeat says already_reserved
	"/cus.provider.v1.ProviderService/ReleaseCapacity":  Keyed, // releasing what is not held succeeds with released = false
	"/cus.provider.v1.ProviderService/UpdateProvider":   Once,
	"/cus.provider.v1.ProviderService/DeleteProvider":   Once,
	"/cus.provider.v1.ProviderService/UpdateAgreement":  Once,
	"/cus.provider.v1.ProviderService/DeleteAgreement":  Once,

	// Reads of personal data are audited: a retried read may leave two audit entries for one answer seen,
	// which overstates, never hides, a disclosure.
	"/cus.referral.v1.ReferralService/GetResident":                Read,
	"/cus.referral.v1.ReferralService/ListResidents":              Read,
	"/cus.referral.v1.ReferralService/LookupResident":             Read,
	"/cus.referral.v1.ReferralService/ExportResident":             Read,
	"/cus.referral.v1.ReferralService/ListConsents":               Read,
	"/cus.referral.v1.ReferralService/GetCase":                    Read,
	"/cus.referral.v1.ReferralService/ListCases":                  Read,
	"/cus.referral.v1.ReferralService/GetPlan":                    Read,
	"/cus.referral.v1.ReferralService/ListPlans":                  Read,
	"/cus.referral.v1.ReferralService/ListOverduePlans":           Read,
	"/cus.referral.v1.ReferralService/GetReferral":                Read,
	"/cus.referral.v1.ReferralService/ListReferrals":              Read,
	"/cus.referral.v1.ReferralService/WatchReferrals":             Read,
	"/cus.referral.v1.ReferralService/ListReferralChanges":        Read,
	"/cus.referral.v1.ReferralService/GetStatistics":              Read,
	"/cus.referral.v1.ReferralService/ListAuditEntries":           Read,
	"/cus.referral.v1.ReferralService/VerifyAuditChain":           Read,
	"/cus.referral.v1.ReferralService/ExportStatistics":           Read,
	"/cus.referral.v1.ReferralService/GetWebhook":                 Read,
	"/cus.referral.v1.ReferralService/ListWebhooks":               Read,
	"/cus.referral.v1.ReferralService/ListWebhookDeliveries":      Read,
	"/cus.referral.v1.ReferralService/CreateResident":             WithRequestID,
	"/cus.referral.v1.ReferralService/CreateConsent":              WithRequestID,
	"/cus.referral.v1.ReferralService/CreateCase":                 WithRequestID,
	"/cus.referral.v1.ReferralService/CreatePlan":                 WithRequestID,
	"/cus.referral.v1.ReferralService/AddPlanReview":              WithRequestID,
	"/cus.referral.v1.ReferralService/CreateReferral":             WithRequestID,
	"/cus.referral.v1.ReferralService/SendReferral":               WithRequestID,
	"/cus.referral.v1.ReferralService/ReceiveReferral":            WithRequestID,
	"/cus.referral.v1.ReferralService/AcceptReferral":             WithRequestID,
	"/cus.referral.v1.ReferralService/RejectReferral":             WithRequestID,
	"/cus.referral.v1.ReferralService/StartReferral":              WithRequestID,
	"/cus.referral.v1.ReferralService/HoldReferral":               WithRequestID,
	"/cus.referral.v1.ReferralService/ResumeReferral":             WithRequestID,
	"/cus.referral.v1.ReferralService/CompleteReferral":           WithRequestID,
	"/cus.referral.v1.ReferralService/FailReferral":               WithRequestID,
	"/cus.referral.v1.ReferralService/CancelReferral":             WithRequestID,
	"/cus.referral.v1.ReferralService/MarkReferralEnteredInError": WithRequestID,
	"/cus.referral.v1.ReferralService/UpdateResident":             Once,
	"/cus.referral.v1.ReferralService/EraseResident":              Once,
	"/cus.referral.v1.ReferralService/WithdrawConsent":            Once,
	"/cus.referral.v1.ReferralService/UpdateCase":                 Once,
	"/cus.referral.v1.ReferralService/UpdatePlan":                 Once,
	"/cus.referral.v1.ReferralService/ApprovePlan":                Once,
	"/cus.referral.v1.ReferralService/ClosePlan":                  Once,
	"/cus.referral.v1.ReferralService/CreateWebhook":              Once, // no request id: a repeat would make a second webhook
	"/cus.referral.v1.ReferralService/UpdateWebhook":              Once,
	"/cus.referral.v1.ReferralService/DeleteWebhook":              Once,
	"/cus.referral.v1.ReferralService/EnableWebhook":              Once,
	"/cus.referral.v1.ReferralService/RotateWebhookSecret":        Once, // a repeat would rotate the secret the caller just received
}

// RetryPolicy is what a retried method gets: up to MaxAttempts calls in all, the next one picked by round robin
// (another replica when there are several), after a random pause below the backoff. The call's deadline bounds
// the whole, as before: retries never extend it.
var RetryPolicy = struct {
	MaxAttempts    int
	InitialBackoff string
	MaxBackoff     string
}{MaxAttempts: 3, InitialBackoff: "0.05s", MaxBackoff: "0.5s"}

// ServiceConfig is the gRPC service config of a connection: round robin, client-side health checking when the
// address names replicas, the retry policy on the retried methods, and retry throttling, which stops retrying
// while most calls fail (a whole service down), so retries cannot multiply the load on what is left.
func ServiceConfig(healthCheck bool) string {
	type name struct {
		Service string `json:"service"`
		Method  string `json:"method"`
	}
	var names []name
	for m, r := range Methods {
		if r == Once {
			continue
		}
		svc, meth, _ := strings.Cut(strings.TrimPrefix(m, "/"), "/")
		names = append(names, name{svc, meth})
	}
	sort.Slice(names, func(i, j int) bool {
		return names[i].Service+"/"+names[i].Method < names[j].Service+"/"+names[j].Method
	})
	cfg := map[string]any{
		"loadBalancingConfig": []any{map[string]any{"round_robin": map[string]any{}}},
		"methodConfig": []any{map[string]any{
			"name": names,
			"retryPolicy": map[string]any{
				"maxAttempts":          RetryPolicy.MaxAttempts,
				"initialBackoff":       RetryPolicy.InitialBackoff,
				"maxBackoff":           RetryPolicy.MaxBackoff,
				"backoffMultiplier":    2,
				"retryableStatusCodes": []string{"UNAVAILABLE"},
			},
		}},
		"retryThrottling": map[string]any{"maxTokens": 100, "tokenRatio": 0.1},
	}
	if healthCheck {
		cfg["healthCheckConfig"] = map[string]any{"serviceName": ""}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	return string(b)
}

// fillRequestID gives a WithRequestID call sent without a request id a fresh one, on a copy of the request, so
// that a retry on another replica is recognised as the same request.
func fillRequestID(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if Methods[method] == WithRequestID {
		if m, ok := req.(proto.Message); ok {
			if fd := requestIDField(m.ProtoReflect()); fd != nil && m.ProtoReflect().Get(fd).String() == "" {
				c := proto.Clone(m)
				c.ProtoReflect().Set(fd, protoreflect.ValueOfString(uuid.NewString()))
				req = c
			}
		}
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func requestIDField(m protoreflect.Message) protoreflect.FieldDescriptor {
	fd := m.Descriptor().Fields().ByName("request_id")
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return nil
	}
	return fd
}
