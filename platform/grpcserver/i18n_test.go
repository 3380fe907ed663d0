package grpcserver

import (
	"context"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/plid"
)

type details struct {
	reason     string
	violations [][3]string // field, reason, description
	localized  *errdetails.LocalizedMessage
}

func detailsOf(st *status.Status) details {
	var d details
	for _, x := range st.Details() {
		switch x := x.(type) {
		case *errdetails.ErrorInfo:
			d.reason = x.GetReason()
		case *errdetails.BadRequest:
			for _, v := range x.GetFieldViolations() {
				d.violations = append(d.violations, [3]string{v.GetField(), v.GetReason(), v.GetDescription()})
			}
		case *errdetails.LocalizedMessage:
			d.localized = x
		}
	}
	return d
}

// TestErrorsInTheCallersLanguage: with accept-language metadata asking for Polish, the message and every
// field violation come in Polish (formats with their arguments, an identifier's error inside a message), with
// a LocalizedMessage; the code, reason and field paths are those of English, which stays the default.
func TestErrorsInTheCallersLanguage(t *testing.T) {
	conn, _, _, _ := startProbe(t, func(context.Context) error {
		var v apierr.Violations
		v.Add("service.display_name", "must be at most %d characters", 200)
		v.Add("terc_codes[0]", "must be a TERYT TERC code of a gmina: %v", plid.ValidateTERC("3022"))
		v.AddReason("update_mask", "NOT_ALLOWED", "path %q is output only and cannot be updated", "create_time")
		return v.Err()
	})
	cases := []struct {
		name       string
		md         []string
		message    string
		violations [][3]string
		locale     string
	}{
		{"English by default", nil, "the request has invalid fields", [][3]string{
			{"service.display_name", "", "must be at most 200 characters"},
			{"terc_codes[0]", "", "must be a TERYT TERC code of a gmina: must be 7 digits"},
			{"update_mask", "NOT_ALLOWED", `path "create_time" is output only and cannot be updated`},
		}, ""},
		{"Polish", []string{"accept-language", "pl-PL,pl;q=0.9,en;q=0.5"}, "żądanie zawiera nieprawidłowe pola", [][3]string{
			{"service.display_name", "", "może mieć najwyżej 200 znaków"},
			{"terc_codes[0]", "", "musi być kodem TERYT TERC gminy: musi mieć 7 cyfr"},
			{"update_mask", "NOT_ALLOWED", `ścieżka "create_time" jest tylko do odczytu i nie można jej zmienić`},
		}, "pl"},
		{"English asked for", []string{"accept-language", "en-GB, pl;q=0.3"}, "the request has invalid fields", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := call(conn, c.md...)
			st := status.Convert(err)
			d := detailsOf(st)
			if st.Code() != codes.InvalidArgument || d.reason != "INVALID_FIELDS" || st.Message() != c.message {
				t.Fatalf("got %v %s %q, want INVALID_ARGUMENT INVALID_FIELDS %q", st.Code(), d.reason, st.Message(), c.message)
			}
			if c.violations != nil {
				if len(d.violations) != len(c.violations) {
					t.Fatalf("violations %q, want %q", d.violations, c.violations)
				}
				for i := range c.violations {
					if d.violations[i] != c.violations[i] {
						t.Errorf("violation %d = %q, want %q", i, d.violations[i], c.violations[i])
					}
				}
			}
			switch {
			case c.locale == "" && d.localized != nil:
				t.Errorf("LocalizedMessage %v in English", d.localized)
			case c.locale != "" && (d.localized == nil || d.localized.GetLocale() != c.locale || d.localized.GetMessage() != c.message):
				t.Errorf("LocalizedMessage %v, want {%s %q}", d.localized, c.locale, c.message)
			}
		})
	}
}

// TestOtherErrorsInPolish: sentinels with Withf, context errors and statuses made elsewhere (a dependency's
// answer passed on) are translated too.
func TestOtherErrorsInPolish(t *testing.T) {
	cases := []struct {
		err     error
		code    codes.Code
		reason  string
		message string
	}{
		{apierr.ErrStaleEtag.With("etag", "x"), codes.Aborted, "STALE_ETAG",
			"etag nie odpowiada bieżącej wersji; odczytaj zasób ponownie i ponów żądanie"},
		{apierr.New(apierr.KindResourceExhausted, "TOO_MANY_WATCHES", "too many open watches").
			Withf("the service has %d open watches, its limit (--max-watches); retry later", 500), codes.ResourceExhausted, "TOO_MANY_WATCHES",
			"usługa ma już 500 otwartych obserwacji, czyli swój limit (--max-watches); spróbuj ponownie później"},
		{context.DeadlineExceeded, codes.DeadlineExceeded, "DEADLINE_EXCEEDED", "termin minął, zanim wywołanie się zakończyło"},
		{status.Error(codes.NotFound, "no such resident"), codes.NotFound, "", "nie ma takiego mieszkańca"},
		{apierr.Invalid("order_by", `cannot order by "x"; use display_name, create_time or update_time`), codes.InvalidArgument, "INVALID_FIELDS",
			"żądanie zawiera nieprawidłowe pola"},
	}
	for _, c := range cases {
		st := StatusIn(c.err, "pl")
		d := detailsOf(st)
		if st.Code() != c.code || d.reason != c.reason || st.Message() != c.message {
			t.Errorf("%v: got %v %s %q, want %v %s %q", c.err, st.Code(), d.reason, st.Message(), c.code, c.reason, c.message)
		}
		if d.localized == nil || d.localized.GetMessage() != c.message {
			t.Errorf("%v: LocalizedMessage %v", c.err, d.localized)
		}
	}
	// A description filled in by fmt.Sprintf before it reached apierr is matched against the catalogue.
	d := detailsOf(StatusIn(apierr.Invalid("order_by", `cannot order by "x"; use display_name, create_time or update_time`), "pl"))
	if want := `nie można sortować według "x"; użyj display_name, create_time albo update_time`; len(d.violations) != 1 || d.violations[0][2] != want {
		t.Errorf("violations %q, want %q", d.violations, want)
	}
}
