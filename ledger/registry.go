package ledger

import (
	"context"

	"github.com/quanchain/quanchain/chaincode/model"
)

// The operator's registry writes: the network tool's bootstrap submits
// them as the operator organisation.

// Bootstrap names the operator (registry:Bootstrap): the caller's own
// organisation, registered as the first institution. It runs once; again,
// it fails with ALREADY_BOOTSTRAPPED.
func (l *Ledger) Bootstrap(ctx context.Context, operator model.Institution) error {
	return submitJSON(ctx, l, "registry:Bootstrap", operator)
}

// RegisterInstitution registers a member organisation (operator only).
func (l *Ledger) RegisterInstitution(ctx context.Context, inst model.Institution) error {
	return submitJSON(ctx, l, "registry:RegisterInstitution", inst)
}

// RegisterCategory registers a data category (operator only).
func (l *Ledger) RegisterCategory(ctx context.Context, cat model.Category) error {
	return submitJSON(ctx, l, "registry:RegisterCategory", cat)
}

// RegisterPurpose registers a purpose template (operator only).
func (l *Ledger) RegisterPurpose(ctx context.Context, p model.Purpose) error {
	return submitJSON(ctx, l, "registry:RegisterPurpose", p)
}

// ProposeIdentityPolicy proposes the identity policy p
// (registry:ProposeIdentityPolicy, operator only) and returns its digest,
// which the supervisor approves.
func (l *Ledger) ProposeIdentityPolicy(ctx context.Context, p model.IdentityPolicy) (string, error) {
	const name = "registry:ProposeIdentityPolicy"
	arg, err := encode(p)
	if err != nil {
		return "", err
	}
	out, err := l.tx.submit(ctx, call(name, arg))
	if err != nil {
		return "", MapError(name, err)
	}
	return string(out), nil
}

// ApproveIdentityPolicy puts the pending identity policy with digest in
// force (registry:ApproveIdentityPolicy, the supervisor only).
func (l *Ledger) ApproveIdentityPolicy(ctx context.Context, digest string) error {
	const name = "registry:ApproveIdentityPolicy"
	_, err := l.tx.submit(ctx, call(name, digest))
	return MapError(name, err)
}

// GetIdentityPolicy returns the identity policy in force and the one
// awaiting approval, each if any.
func (l *Ledger) GetIdentityPolicy(ctx context.Context) (*model.IdentityPolicyState, error) {
	return evaluate[model.IdentityPolicyState](ctx, l, "registry:GetIdentityPolicy")
}

// submitJSON submits a transaction whose one argument is v as JSON and
// whose result is empty.
func submitJSON(ctx context.Context, l *Ledger, name string, v any) error {
	arg, err := encode(v)
	if err != nil {
		return err
	}
	_, err = l.tx.submit(ctx, call(name, arg))
	return MapError(name, err)
}
