package contract_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
)

func pkix(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func TestBootstrap(t *testing.T) {
	op := mustJSON(institution(opMSP, model.KindProvider))
	tests := []struct {
		name  string
		msp   string
		input string
		want  model.Code
	}{
		{"another org cannot name itself operator for someone else", bankMSP, op, model.CodeForbiddenMSP},
		{"auditor cannot be the operator", auditMSP, mustJSON(institution(auditMSP, model.KindAuditor)), model.CodeInvalidArgument},
		{"malformed JSON", opMSP, `{"msp_id":`, model.CodeMalformedJSON},
		{"unknown field", opMSP, `{"msp_id":"BureauMSP","colour":"red"}`, model.CodeMalformedJSON},
		{"wrong type", opMSP, `{"msp_id":42}`, model.CodeMalformedJSON},
		{"trailing data", opMSP, op + `{}`, model.CodeMalformedJSON},
		{"oversized", opMSP, `{"name":"` + strings.Repeat("x", 20<<10) + `"}`, model.CodeInputTooLarge},
		{"invalid MSP id", opMSP, mustJSON(institution("bad msp", model.KindProvider)), model.CodeInvalidArgument},
		{"unknown kind", opMSP, mustJSON(institution(opMSP, "pawnshop")), model.CodeInvalidArgument},
		{"empty name", opMSP, `{"msp_id":"BureauMSP","name":" ","kind":"provider","licence":"L"}`, model.CodeInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.call(tc.msp, "registry:Bootstrap", tc.input)
			wantCode(t, err, tc.want)
			if keys := e.ledger.Keys(); len(keys) != 0 {
				t.Fatalf("refused bootstrap wrote %d keys", len(keys))
			}
		})
	}

	t.Run("once only", func(t *testing.T) {
		e := newEnv(t)
		e.must(opMSP, "registry:Bootstrap", op)
		if ev := e.lastEvent(); ev.Name != model.EventBootstrapped || ev.MSPID != opMSP {
			t.Fatalf("event %+v", ev)
		}
		cfg := decode[model.Config](t, e.must(auditMSP, "registry:GetConfig"))
		if cfg.OperatorMSP != opMSP || cfg.BootstrappedAt != "2026-11-02T09:00:00.000Z" {
			t.Fatalf("config %+v", cfg)
		}
		_, err := e.call(opMSP, "registry:Bootstrap", op)
		wantCode(t, err, model.CodeAlreadyBootstrapped)
	})

	t.Run("nothing works before bootstrap", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.call(opMSP, "registry:RegisterInstitution", mustJSON(institution(bankMSP, model.KindBank)))
		wantCode(t, err, model.CodeNotBootstrapped)
		_, err = e.query(auditMSP, "registry:GetConfig")
		wantCode(t, err, model.CodeNotBootstrapped)
	})
}

func TestRegisterInstitution(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	withKey := func(k string) string {
		i := institution("NewBankMSP", model.KindBank)
		i.EncryptionKey = k
		return mustJSON(i)
	}
	tests := []struct {
		name  string
		msp   string
		input string
		want  model.Code // "" means success
	}{
		{"operator registers a bank", opMSP, mustJSON(institution("NewBankMSP", model.KindBank)), ""},
		{"with a P-256 encryption key", opMSP, withKey(pkix(t, &p256.PublicKey)), ""},
		{"with an X25519 encryption key", opMSP, withKey(pkix(t, x25519.PublicKey())), ""},
		{"P-384 key refused", opMSP, withKey(pkix(t, &p384.PublicKey)), model.CodeInvalidKey},
		{"RSA key refused", opMSP, withKey(pkix(t, &rsaKey.PublicKey)), model.CodeInvalidKey},
		{"not base64", opMSP, withKey("***"), model.CodeInvalidKey},
		{"not a key", opMSP, withKey(base64.StdEncoding.EncodeToString([]byte("hello"))), model.CodeInvalidKey},
		{"bank cannot register", bankMSP, mustJSON(institution("NewBankMSP", model.KindBank)), model.CodeForbiddenMSP},
		{"auditor cannot register", auditMSP, mustJSON(institution("NewBankMSP", model.KindBank)), model.CodeForbiddenMSP},
		{"duplicate", opMSP, mustJSON(institution(bankMSP, model.KindBank)), model.CodeAlreadyExists},
		{"name with a newline", opMSP, `{"msp_id":"NewBankMSP","name":"a\nb","kind":"bank","licence":"L"}`, model.CodeInvalidArgument},
		{"name too long", opMSP, `{"msp_id":"NewBankMSP","name":"` + strings.Repeat("银", 50) + `","kind":"bank","licence":"L"}`, model.CodeInvalidArgument},
		{"missing licence", opMSP, `{"msp_id":"NewBankMSP","name":"n","kind":"bank"}`, model.CodeInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.bootstrap()
			before := len(e.ledger.Keys())
			_, err := e.call(tc.msp, "registry:RegisterInstitution", tc.input)
			if tc.want != "" {
				wantCode(t, err, tc.want)
				if after := len(e.ledger.Keys()); after != before {
					t.Fatalf("refused registration changed the key count %d -> %d", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			inst := decode[model.Institution](t, e.must(auditMSP, "registry:GetInstitution", "NewBankMSP"))
			if inst.Status != model.StatusActive || inst.RegisteredAt == "" {
				t.Fatalf("stored %+v", inst)
			}
			if ev := e.lastEvent(); ev.Name != model.EventInstitutionRegistered || ev.MSPID != "NewBankMSP" {
				t.Fatalf("event %+v", ev)
			}
		})
	}
}

func TestInstitutionStatus(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	ref := citizenRef(1)

	_, err := e.call(bankMSP, "registry:SetInstitutionStatus", insurerMSP, model.StatusSuspended)
	wantCode(t, err, model.CodeForbiddenMSP)
	_, err = e.call(opMSP, "registry:SetInstitutionStatus", opMSP, model.StatusSuspended)
	wantCode(t, err, model.CodeInvalidArgument)
	_, err = e.call(opMSP, "registry:SetInstitutionStatus", bankMSP, "ASLEEP")
	wantCode(t, err, model.CodeInvalidArgument)
	_, err = e.call(opMSP, "registry:SetInstitutionStatus", rogueMSP, model.StatusSuspended)
	wantCode(t, err, model.CodeInstitutionNotFound)

	e.must(opMSP, "registry:SetInstitutionStatus", bankMSP, model.StatusSuspended)
	_, err = e.call(bankMSP, "consent:RequestAuthorization", mustJSON(lendingRequest("auth-1", ref)))
	wantCode(t, err, model.CodeInstitutionInactive)

	e.must(opMSP, "registry:SetInstitutionStatus", bankMSP, model.StatusActive)
	e.request(bankMSP, lendingRequest("auth-1", ref))

	e.must(opMSP, "registry:SetInstitutionStatus", bankMSP, model.StatusRevoked)
	_, err = e.call(opMSP, "registry:SetInstitutionStatus", bankMSP, model.StatusActive)
	wantCode(t, err, model.CodeInvalidTransition)
}

func TestSetEncryptionKey(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key := pkix(t, &k.PublicKey)

	e.must(bankMSP, "registry:SetEncryptionKey", key)
	inst := decode[model.Institution](t, e.must(auditMSP, "registry:GetInstitution", bankMSP))
	if inst.EncryptionKey != key {
		t.Fatalf("key not stored: %+v", inst)
	}
	_, err := e.call(auditMSP, "registry:SetEncryptionKey", key)
	wantCode(t, err, model.CodeForbiddenMSP)
	_, err = e.call(rogueMSP, "registry:SetEncryptionKey", key)
	wantCode(t, err, model.CodeForbiddenMSP)
	_, err = e.call(bankMSP, "registry:SetEncryptionKey", "AAAA")
	wantCode(t, err, model.CodeInvalidKey)
}

func TestRegisterCategoryAndPurpose(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	cat := model.Category{Code: "vehicle_registration", NameZH: "机动车登记", NameEN: "Vehicle registration", ProviderMSP: opMSP, SchemaHash: strings.ToUpper(hash("schema"))}
	catTests := []struct {
		name  string
		msp   string
		input string
		want  model.Code
	}{
		{"bank cannot", bankMSP, mustJSON(cat), model.CodeForbiddenMSP},
		{"bad code", opMSP, mustJSON(model.Category{Code: "Vehicle", NameZH: "x", NameEN: "x", ProviderMSP: opMSP}), model.CodeInvalidArgument},
		{"provider is a bank", opMSP, mustJSON(model.Category{Code: "loans", NameZH: "x", NameEN: "x", ProviderMSP: bankMSP}), model.CodeInvalidArgument},
		{"provider unknown", opMSP, mustJSON(model.Category{Code: "loans", NameZH: "x", NameEN: "x", ProviderMSP: rogueMSP}), model.CodeInstitutionNotFound},
		{"missing english name", opMSP, mustJSON(model.Category{Code: "loans", NameZH: "x", ProviderMSP: opMSP}), model.CodeInvalidArgument},
		{"missing chinese name", opMSP, mustJSON(model.Category{Code: "loans", NameEN: "x", ProviderMSP: opMSP}), model.CodeInvalidArgument},
		{"bad schema hash", opMSP, mustJSON(model.Category{Code: "loans", NameZH: "x", NameEN: "x", ProviderMSP: opMSP, SchemaHash: "abc"}), model.CodeInvalidArgument},
		{"duplicate", opMSP, mustJSON(demoCategories[0]), model.CodeAlreadyExists},
	}
	for _, tc := range catTests {
		t.Run("category/"+tc.name, func(t *testing.T) {
			_, err := e.call(tc.msp, "registry:RegisterCategory", tc.input)
			wantCode(t, err, tc.want)
		})
	}
	e.must(opMSP, "registry:RegisterCategory", mustJSON(cat))
	got := decode[model.Category](t, e.must(bankMSP, "registry:GetCategory", "vehicle_registration"))
	if got.SchemaHash != hash("schema") || got.Status != model.StatusActive {
		t.Fatalf("category stored as %+v", got)
	}
	_, err := e.query(bankMSP, "registry:GetCategory", "no_such")
	wantCode(t, err, model.CodeCategoryNotFound)

	base := model.Purpose{Code: "UNDERWRITING", NameZH: "核保", NameEN: "Underwriting",
		RequesterKinds: []model.InstitutionKind{model.KindInsurer}, AllowedCategories: []string{"vehicle_registration"},
		MaxValidityDays: 30, MaxUses: 1, MaxDataRangeDays: 365}
	mod := func(f func(p *model.Purpose)) string {
		p := base
		f(&p)
		return mustJSON(p)
	}
	purposeTests := []struct {
		name  string
		msp   string
		input string
		want  model.Code
	}{
		{"insurer cannot", insurerMSP, mustJSON(base), model.CodeForbiddenMSP},
		{"bad code", opMSP, mod(func(p *model.Purpose) { p.Code = "underwriting" }), model.CodeInvalidArgument},
		{"no requester kinds", opMSP, mod(func(p *model.Purpose) { p.RequesterKinds = nil }), model.CodeInvalidArgument},
		{"auditor may not request", opMSP, mod(func(p *model.Purpose) { p.RequesterKinds = []model.InstitutionKind{model.KindAuditor} }), model.CodeInvalidArgument},
		{"kind listed twice", opMSP, mod(func(p *model.Purpose) {
			p.RequesterKinds = []model.InstitutionKind{model.KindInsurer, model.KindInsurer}
		}), model.CodeInvalidArgument},
		{"unknown category", opMSP, mod(func(p *model.Purpose) { p.AllowedCategories = []string{"dna"} }), model.CodeCategoryNotFound},
		{"no categories", opMSP, mod(func(p *model.Purpose) { p.AllowedCategories = nil }), model.CodeInvalidArgument},
		{"zero validity", opMSP, mod(func(p *model.Purpose) { p.MaxValidityDays = 0 }), model.CodeInvalidArgument},
		{"zero uses", opMSP, mod(func(p *model.Purpose) { p.MaxUses = 0 }), model.CodeInvalidArgument},
		{"zero range", opMSP, mod(func(p *model.Purpose) { p.MaxDataRangeDays = 0 }), model.CodeInvalidArgument},
		{"may store without a data life", opMSP, mod(func(p *model.Purpose) { p.MayStore = true }), model.CodeInvalidArgument},
		{"data life without may store", opMSP, mod(func(p *model.Purpose) { p.DataLifeDays = 10 }), model.CodeInvalidArgument},
		{"duplicate", opMSP, mustJSON(demoPurposes[0]), model.CodeAlreadyExists},
	}
	for _, tc := range purposeTests {
		t.Run("purpose/"+tc.name, func(t *testing.T) {
			_, err := e.call(tc.msp, "registry:RegisterPurpose", tc.input)
			wantCode(t, err, tc.want)
		})
	}
	e.must(opMSP, "registry:RegisterPurpose", mustJSON(base))
	p := decode[model.Purpose](t, e.must(insurerMSP, "registry:GetPurpose", "UNDERWRITING"))
	if p.MaxUses != 1 || p.RegisteredAt == "" {
		t.Fatalf("purpose stored as %+v", p)
	}
	_, err = e.query(bankMSP, "registry:GetPurpose", "NO_SUCH")
	wantCode(t, err, model.CodePurposeNotFound)
	_, err = e.query(bankMSP, "registry:GetPurpose", "bad code")
	wantCode(t, err, model.CodeInvalidArgument)
}

func TestCitizenKeys(t *testing.T) {
	e := newEnv(t)
	e.bootstrap()
	ref := citizenRef(1)
	phone, tablet := newDevice(t), newDevice(t)

	tests := []struct {
		name string
		msp  string
		ref  string
		jwk  string
		want model.Code
	}{
		{"bank cannot enrol", bankMSP, ref, phone.jwk, model.CodeForbiddenMSP},
		{"auditor cannot enrol", auditMSP, ref, phone.jwk, model.CodeForbiddenMSP},
		{"an ID number is not a citizenRef", opMSP, "370102199003071234", phone.jwk, model.CodeInvalidArgument},
		{"upper-case ref refused", opMSP, strings.ToUpper(ref), phone.jwk, model.CodeInvalidArgument},
		{"not a JWK", opMSP, ref, `{"kty":"RSA"}`, model.CodeInvalidKey},
		{"private key refused", opMSP, ref, strings.TrimSuffix(phone.jwk, "}") + `,"d":"AAAA"}`, model.CodeInvalidKey},
		{"garbage", opMSP, ref, `not json`, model.CodeInvalidKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.call(tc.msp, "registry:AddCitizenKey", bankMSP, tc.ref, tc.jwk)
			wantCode(t, err, tc.want)
		})
	}

	e.enrol(ref, phone)
	if ev := e.lastEvent(); ev.Name != model.EventCitizenKeyAdded || ev.Requester != insurerMSP || strings.Contains(mustJSON(ev), ref) || strings.Contains(mustJSON(ev), phone.kid) {
		t.Fatalf("event %+v", ev)
	}
	_, err := e.call(opMSP, "registry:AddCitizenKey", bankMSP, ref, phone.jwk)
	wantCode(t, err, model.CodeAlreadyExists)
	e.enrol(ref, tablet)

	cz := decode[model.Citizen](t, e.must(auditMSP, "registry:GetCitizen", bankMSP, ref))
	if len(cz.Keys) != 2 || cz.Keys[0].KeyID != phone.kid || cz.Keys[1].KeyID != tablet.kid {
		t.Fatalf("citizen %+v", cz)
	}

	_, err = e.call(bankMSP, "registry:RevokeCitizenKey", bankMSP, ref, phone.kid)
	wantCode(t, err, model.CodeForbiddenMSP)
	_, err = e.call(opMSP, "registry:RevokeCitizenKey", bankMSP, ref, "no-such-key")
	wantCode(t, err, model.CodeKeyNotFound)
	_, err = e.call(opMSP, "registry:RevokeCitizenKey", bankMSP, citizenRef(2), phone.kid)
	wantCode(t, err, model.CodeCitizenNotFound)
	e.must(opMSP, "registry:RevokeCitizenKey", bankMSP, ref, phone.kid)
	if ev := e.lastEvent(); ev.Name != model.EventCitizenKeyRevoked || ev.Requester != bankMSP || strings.Contains(mustJSON(ev), phone.kid) {
		t.Fatalf("event %+v", ev)
	}
	_, err = e.call(opMSP, "registry:RevokeCitizenKey", bankMSP, ref, phone.kid)
	wantCode(t, err, model.CodeKeyRevoked)
	_, err = e.call(opMSP, "registry:AddCitizenKey", bankMSP, ref, phone.jwk)
	wantCode(t, err, model.CodeKeyRevoked)

	cz = decode[model.Citizen](t, e.must(auditMSP, "registry:GetCitizen", bankMSP, ref))
	if cz.Keys[0].Status != model.StatusRevoked || cz.Keys[0].RevokedAt == "" || cz.Keys[1].Status != model.StatusActive {
		t.Fatalf("citizen after revocation %+v", cz)
	}
	_, err = e.query(auditMSP, "registry:GetCitizen", bankMSP, citizenRef(9))
	wantCode(t, err, model.CodeCitizenNotFound)

	t.Run("at most eight active keys", func(t *testing.T) {
		ref := citizenRef(3)
		for i := 0; i < 8; i++ {
			e.enrol(ref, newDevice(t))
		}
		_, err := e.call(opMSP, "registry:AddCitizenKey", bankMSP, ref, newDevice(t).jwk)
		wantCode(t, err, model.CodeInvalidArgument)
	})
}

// TestCategorySchema: a category's field list is registered with its
// schema version, within bounds, and read back as registered.
func TestCategorySchema(t *testing.T) {
	field := func(name string) model.CategoryField {
		return model.CategoryField{Name: name, NameZH: "字段", NameEN: "Field"}
	}
	with := func(version int, fields ...model.CategoryField) string {
		return mustJSON(model.Category{Code: "loans", NameZH: "贷款", NameEN: "Loans", ProviderMSP: opMSP,
			SchemaVersion: version, Fields: fields})
	}
	many := make([]model.CategoryField, model.MaxCategoryFields+1)
	for i := range many {
		many[i] = field(fmt.Sprintf("f%d", i))
	}
	tests := []struct {
		name  string
		input string
		want  model.Code
	}{
		{"fields with a version", with(3, field("employer"), field("base_fen")), ""},
		{"no fields, no version", with(0), ""},
		{"64 fields", with(1, many[:model.MaxCategoryFields]...), ""},
		{"65 fields", with(1, many...), model.CodeInvalidArgument},
		{"fields without a version", with(0, field("employer")), model.CodeInvalidArgument},
		{"negative version", with(-1), model.CodeInvalidArgument},
		{"empty field name", with(1, field("")), model.CodeInvalidArgument},
		{"field name with a space", with(1, field("base fen")), model.CodeInvalidArgument},
		{"field listed twice", with(1, field("employer"), field("employer")), model.CodeInvalidArgument},
		{"blank chinese name", with(1, model.CategoryField{Name: "x", NameZH: " ", NameEN: "X"}), model.CodeInvalidArgument},
		{"missing english name", with(1, model.CategoryField{Name: "x", NameZH: "字段"}), model.CodeInvalidArgument},
		{"control character", with(1, model.CategoryField{Name: "x", NameZH: "字\u0007段", NameEN: "X"}), model.CodeInvalidArgument},
		{"line break", with(1, model.CategoryField{Name: "x", NameZH: "字段", NameEN: "X\nY"}), model.CodeInvalidArgument},
		{"name too long", with(1, model.CategoryField{Name: "x", NameZH: strings.Repeat("字", 43), NameEN: "X"}), model.CodeInvalidArgument},
		{"unknown member", strings.Replace(with(1, field("x")), `"name_en"`, `"label":"x","name_en"`, 1), model.CodeMalformedJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.bootstrap()
			_, err := e.call(opMSP, "registry:RegisterCategory", tc.input)
			if tc.want != "" {
				wantCode(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var in model.Category
			_ = json.Unmarshal([]byte(tc.input), &in)
			got := decode[model.Category](t, e.must(bankMSP, "registry:GetCategory", "loans"))
			if got.SchemaVersion != in.SchemaVersion || len(got.Fields) != len(in.Fields) {
				t.Fatalf("stored %+v", got)
			}
			for i := range in.Fields {
				if got.Fields[i] != in.Fields[i] {
					t.Fatalf("field %d stored as %+v, want %+v", i, got.Fields[i], in.Fields[i])
				}
			}
		})
	}
}

// TestInstitutionContact: the contact shown on every request is a
// telephone number or an https URL.
func TestInstitutionContact(t *testing.T) {
	tests := []struct {
		contact string
		want    model.Code
	}{
		{"0531-96588", ""},
		{"95588", ""},
		{"+86 531 8888 6666", ""},
		{"https://bank.example.cn/contact", ""},
		{"http://bank.example.cn", model.CodeInvalidArgument},
		{"javascript:alert(1)", model.CodeInvalidArgument},
		{"call 0531", model.CodeInvalidArgument},
		{"0531-96588\n", model.CodeInvalidArgument},
		{"https://" + strings.Repeat("a", model.MaxContactLen), model.CodeInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.contact, func(t *testing.T) {
			e := newEnv(t)
			e.bootstrap()
			inst := institution("NewBankMSP", model.KindBank)
			inst.Contact = tc.contact
			_, err := e.call(opMSP, "registry:RegisterInstitution", mustJSON(inst))
			if tc.want != "" {
				wantCode(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := decode[model.Institution](t, e.must(auditMSP, "registry:GetInstitution", "NewBankMSP"))
			if got.Contact != tc.contact {
				t.Fatalf("contact stored as %q", got.Contact)
			}
		})
	}
}

// TestDeviceName: a device key is enrolled with the name the citizen gave
// the device, bounded and without control characters.
func TestDeviceName(t *testing.T) {
	ref := citizenRef(1)
	tests := []struct {
		name string
		want model.Code
	}{
		{"iPhone", ""},
		{"张三的华为手机", ""},
		{strings.Repeat("a", model.MaxDeviceNameLen), ""},
		{strings.Repeat("a", model.MaxDeviceNameLen+1), model.CodeInvalidArgument},
		{"   ", model.CodeInvalidArgument},
		{"iPhone\r\nAdmin", model.CodeInvalidArgument},
		{"iPhone\u202e", ""},                          // a format character, not a control character
		{"next\u0085line", model.CodeInvalidArgument}, // a C1 control character
		{"370102199003071234 的手机", model.CodeInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.bootstrap()
			d := newDevice(t)
			_, err := e.call(opMSP, "registry:AddCitizenKey", bankMSP, ref, d.jwk, tc.name)
			if tc.want != "" {
				wantCode(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cz := decode[model.Citizen](t, e.must(auditMSP, "registry:GetCitizen", bankMSP, ref))
			if len(cz.Keys) != 1 || cz.Keys[0].Name != tc.name {
				t.Fatalf("keys %+v", cz.Keys)
			}
		})
	}
}
