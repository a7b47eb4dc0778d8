package roster

import "testing"

func TestCountries(t *testing.T) {
	if len(Countries) != 249 {
		t.Fatalf("%d countries, ISO 3166-1 assigns 249", len(Countries))
	}
	for i := 1; i < len(Countries); i++ {
		if Countries[i-1] >= Countries[i] {
			t.Errorf("%s before %s: not sorted or repeated", Countries[i-1], Countries[i])
		}
	}
	for _, c := range []string{"DE", "RU", "US", "GB", "AX", "SS", "KZ"} {
		if !ValidCountry(c) {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"XX", "UK", "EU", "SU", "ZZ", "de", "D", "DEU", ""} {
		if ValidCountry(c) {
			t.Errorf("%q accepted", c)
		}
	}
}
