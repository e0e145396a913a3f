package vault

import "testing"

func TestCanonicalJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"b":1,"a":"x"}`, `{"a":"x","b":1}`},
		{"{ \"a\" : [ 1 , {\"d\":2,\"c\":3} ] }", `{"a":[1,{"c":3,"d":2}]}`},
		{`{"n":12345678901234567890,"f":1.50}`, `{"f":1.50,"n":12345678901234567890}`},
		{`{"s":"<&>\u00e9"}`, `{"s":"\u003c\u0026\u003eé"}`},
	} {
		got, err := CanonicalJSON([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %s, %v", tc.in, got, err)
		}
	}
	for _, bad := range []string{`{"a":1,"a":1}`, `{"a":{"b":1,"b":2}}`, `{"a":1} {}`, `{"a":`} {
		if _, err := CanonicalJSON([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
