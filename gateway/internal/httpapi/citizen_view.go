package httpapi

import (
	"context"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger"
)

// institutionView is who asks: the requester's registered name and
// licence (PIPL Art. 23: the recipient's name and contact).
type institutionView struct {
	MSPID   string                `json:"msp_id"`
	Name    string                `json:"name"`
	Kind    model.InstitutionKind `json:"kind,omitempty"`
	Licence string                `json:"licence"`
	Contact string                `json:"contact,omitempty"`
	Status  string                `json:"status,omitempty"`
}

// purposeView is why: the purpose template's names and its storage terms
// (PIPL Art. 23: the purpose and the retention period).
type purposeView struct {
	Code         string `json:"code"`
	NameZH       string `json:"name_zh"`
	NameEN       string `json:"name_en"`
	MayStore     bool   `json:"may_store"`
	DataLifeDays int    `json:"data_life_days"`
}

// categoryView is what: a data category's names, whether it is sensitive
// personal information (PIPL Art. 28), and the fields it delivers under
// its registered schema version (最少必要: the citizen sees each field).
type categoryView struct {
	Code          string                `json:"category"`
	NameZH        string                `json:"name_zh"`
	NameEN        string                `json:"name_en"`
	Sensitive     bool                  `json:"sensitive"`
	SchemaVersion int                   `json:"schema_version"`
	Fields        []model.CategoryField `json:"fields"`
}

// citizenAuthorization is an authorisation as the consent app shows it.
type citizenAuthorization struct {
	model.Authorization
	RequesterInfo institutionView `json:"requester_info"`
	PurposeInfo   purposeView     `json:"purpose_info"`
	CategoryInfo  []categoryView  `json:"category_info"`
}

type citizenAuthorizationList struct {
	Items      []citizenAuthorization `json:"items"`
	NextCursor string                 `json:"next_cursor,omitempty"`
}

// citizenAccess is one use of the citizen's data, with who used it.
type citizenAccess struct {
	model.Access
	RequesterInfo institutionView `json:"requester_info"`
	// CategoryInfo names the delivered categories, as for an
	// authorisation: the use of an authorisation the app has not loaded
	// still shows names, not codes.
	CategoryInfo []categoryView `json:"category_info"`
}

type citizenAccessList struct {
	Items      []citizenAccess `json:"items"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// safeView is the citizen's digital safe: what it holds, per category.
type safeView struct {
	Categories []safeCategory `json:"categories"`
}

type safeCategory struct {
	categoryView
	Count     int         `json:"count"`
	FirstDate string      `json:"first_date"`
	LastDate  string      `json:"last_date"`
	Unbatched int         `json:"unbatched"` // records not yet anchored
	Batches   []safeBatch `json:"batches"`
}

// safeBatch is a Merkle batch holding some of the citizen's records, with
// the transaction that anchored its root.
type safeBatch struct {
	BatchID    string `json:"batch_id"`
	Root       string `json:"root"`
	LeafCount  int    `json:"leaf_count"`
	Records    int    `json:"records"`
	CreatedAt  string `json:"created_at"`
	Anchored   bool   `json:"anchored"`
	AnchorTxID string `json:"anchor_tx_id,omitempty"`
	AnchoredAt string `json:"anchored_at,omitempty"`
}

// describe adds to an authorisation the requester's, purpose's and
// categories' registered descriptions.
func (c *CitizenAPI) describe(ctx context.Context, a *model.Authorization) (citizenAuthorization, error) {
	out := citizenAuthorization{Authorization: *a, CategoryInfo: make([]categoryView, 0, len(a.Categories))}
	var err error
	if out.RequesterInfo, err = c.institution(ctx, a.Requester); err != nil {
		return out, err
	}
	out.PurposeInfo = purposeView{Code: a.Purpose}
	p, err := c.purposes.Get(ctx, a.Purpose)
	switch {
	case ledger.CodeOf(err) == model.CodePurposeNotFound:
	case err != nil:
		return out, err
	default:
		out.PurposeInfo = purposeView{Code: p.Code, NameZH: p.NameZH, NameEN: p.NameEN, MayStore: p.MayStore, DataLifeDays: p.DataLifeDays}
	}
	for _, code := range a.Categories {
		cv, err := c.category(ctx, code)
		if err != nil {
			return out, err
		}
		out.CategoryInfo = append(out.CategoryInfo, cv)
	}
	return out, nil
}

// institution describes a member by MSP ID; one the registry does not
// know (which the chaincode never lets request) is shown by its MSP ID.
func (c *CitizenAPI) institution(ctx context.Context, msp string) (institutionView, error) {
	inst, err := c.institutions.Get(ctx, msp)
	switch {
	case ledger.CodeOf(err) == model.CodeInstitutionNotFound:
		return institutionView{MSPID: msp}, nil
	case err != nil:
		return institutionView{}, err
	}
	return institutionView{MSPID: inst.MSPID, Name: inst.Name, Kind: inst.Kind, Licence: inst.Licence,
		Contact: inst.Contact, Status: inst.Status}, nil
}

// category describes a data category by code.
func (c *CitizenAPI) category(ctx context.Context, code string) (categoryView, error) {
	cat, err := c.categories.Get(ctx, code)
	switch {
	case ledger.CodeOf(err) == model.CodeCategoryNotFound:
		return categoryView{Code: code, Fields: []model.CategoryField{}}, nil
	case err != nil:
		return categoryView{}, err
	}
	fields := append([]model.CategoryField{}, cat.Fields...)
	return categoryView{Code: cat.Code, NameZH: cat.NameZH, NameEN: cat.NameEN, Sensitive: cat.Sensitive,
		SchemaVersion: cat.SchemaVersion, Fields: fields}, nil
}

// terms reads the registry's terms of a that its decision payload names:
// the requester's licence, the purpose's retention, each category's
// schema version — as the app shows them. The chaincode reads them again
// and refuses a payload that differs.
func (c *CitizenAPI) terms(ctx context.Context, a *model.Authorization) (model.Terms, error) {
	inst, err := c.institutions.Get(ctx, a.Requester)
	if err != nil {
		return model.Terms{}, err
	}
	p, err := c.purposes.Get(ctx, a.Purpose)
	if err != nil {
		return model.Terms{}, err
	}
	cats := make([]*model.Category, len(a.Categories))
	for i, code := range a.Categories {
		if cats[i], err = c.categories.Get(ctx, code); err != nil {
			return model.Terms{}, err
		}
	}
	return model.TermsOf(inst, p, cats), nil
}
