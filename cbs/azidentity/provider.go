// Package azidentity adapts an azcore.TokenCredential (any credential from
// github.com/Azure/azure-sdk-for-go/sdk/azidentity: DefaultAzureCredential,
// a managed identity, a client secret, …) to a cbs.TokenProvider, so that
// Microsoft Entra ID tokens authorize links on Service Bus and Event Hubs
// style endpoints. It lives apart from package cbs so that programs which do
// not use Azure identities do not compile the Azure SDK.
//
//	cred, err := azidentity.NewDefaultAzureCredential(nil) // the Azure SDK's package
//	client, err := amqplink.Dial(ctx, "amqps://ns.servicebus.windows.net",
//		&amqplink.Options{TokenProvider: cbsaz.NewProvider(cred, cbsaz.ServiceBusScope)})
package azidentity

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/amqplink/amqplink/cbs"
	"github.com/amqplink/amqplink/errorpolicy"
)

// Scopes of the two services (DESIGN.md, CBS).
const (
	ServiceBusScope = "https://servicebus.azure.net//.default"
	EventHubsScope  = "https://eventhubs.azure.net//.default"
)

// Provider gets jwt tokens from an azcore.TokenCredential.
type Provider struct {
	cred  azcore.TokenCredential
	scope string
}

var _ cbs.TokenProvider = (*Provider)(nil)

// NewProvider returns a provider asking cred for tokens in scope
// (ServiceBusScope or EventHubsScope).
func NewProvider(cred azcore.TokenCredential, scope string) *Provider {
	return &Provider{cred: cred, scope: scope}
}

// Token asks the credential for a token, passing the caller's context through.
// The audience does not change an Entra ID token: the scope decides it. A
// credential that cannot produce a token fails with errorpolicy.ErrUnauthorized,
// classed Fatal: azidentity's credentials already retry transient failures
// themselves.
func (p *Provider) Token(ctx context.Context, _ string) (cbs.Token, error) {
	if p.cred == nil {
		return cbs.Token{}, errorpolicy.InvalidOption("cbs/azidentity: NewProvider needs a credential")
	}
	t, err := p.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{p.scope}})
	if err != nil {
		if ctx.Err() != nil {
			return cbs.Token{}, ctx.Err()
		}
		return cbs.Token{}, &errorpolicy.Error{Condition: errorpolicy.CondUnauthorizedAccess,
			Description: "getting a token from the credential failed", Class: errorpolicy.Fatal, Err: err}
	}
	return cbs.Token{Type: cbs.TypeJWT, Value: t.Token, Expiry: t.ExpiresOn}, nil
}
