package i18n

import (
	"context"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// FromIncoming is the language the caller of a gRPC call asked for with accept-language metadata.
func FromIncoming(ctx context.Context) string {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return English
	}
	return Negotiate(md.Get(MetadataKey)...)
}

// Localized is the google.rpc.LocalizedMessage (AIP-193) of a message in lang.
func Localized(lang, message string) *errdetails.LocalizedMessage {
	return &errdetails.LocalizedMessage{Locale: lang, Message: message}
}

// IsLocalized reports whether a status already carries a LocalizedMessage: it was translated where it was
// made, which knew its format, and must not be translated again.
func IsLocalized(st *status.Status) bool {
	for _, d := range st.Proto().GetDetails() {
		if d.MessageIs((*errdetails.LocalizedMessage)(nil)) {
			return true
		}
	}
	return false
}

// LocalizeStatus translates a status made in English by text (Translate): its message and the descriptions of
// its field violations, and adds a LocalizedMessage. The code, the ErrorInfo (reason, metadata) and the field
// paths never change. A status already localized, or any status when lang is English, is returned as it is.
func LocalizeStatus(st *status.Status, lang string) *status.Status {
	if lang != Polish || st == nil || st.Proto().GetCode() == 0 || IsLocalized(st) {
		return st
	}
	sp := st.Proto()
	msg := Translate(lang, sp.GetMessage())
	var details []protoadapt.MessageV1
	for _, d := range sp.GetDetails() {
		m, err := d.UnmarshalNew()
		if err != nil {
			continue
		}
		if br, ok := m.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				v.Description = Translate(lang, v.GetDescription())
			}
		}
		details = append(details, protoadapt.MessageV1Of(m))
	}
	details = append(details, Localized(lang, msg))
	out, err := status.New(st.Code(), msg).WithDetails(details...)
	if err != nil {
		return st
	}
	return out
}
