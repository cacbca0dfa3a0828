package demoscheme

// What the scheme contains. The names and descriptions are what agents see
// next to a disclosed value (labels come from the attribute's Name), so they
// are written for them, in Dutch and English.

type text struct{ NL, EN string }

type attributeSpec struct {
	ID          string
	Name        text
	Description text
}

type credentialSpec struct {
	ID          string
	Name        text
	Description text
	Attributes  []attributeSpec
}

var scheme = struct {
	Name, Description text
	URL               string
}{
	Name: text{"Veilig Contact demo", "Veilig Contact demo"},
	Description: text{
		"Lokaal gegenereerd demoschema van Veilig Contact; alleen voor demonstraties en tests",
		"Locally generated demo scheme of Veilig Contact; for demos and tests only",
	},
	// .invalid can never resolve (RFC 2606), so nothing can download or
	// "update" this scheme.
	URL: "https://schemes.veiligcontact.invalid/" + SchemeID,
}

var issuer = struct {
	ID   string
	Name text
}{
	ID:   "gemeente",
	Name: text{"Demo gemeente", "Demo municipality"},
}

var credentials = []credentialSpec{
	{
		ID:          "personalData",
		Name:        text{"Demo persoonsgegevens", "Demo personal data"},
		Description: text{"Uw persoonsgegevens zoals de demo gemeente die kent", "Your personal data as the demo municipality knows them"},
		Attributes: []attributeSpec{
			{"bsn", text{"BSN", "Citizen service number (BSN)"}, text{"Uw burgerservicenummer", "Your citizen service number"}},
			{"fullname", text{"Volledige naam", "Full name"}, text{"Uw volledige naam", "Your full name"}},
			{"familyname", text{"Achternaam", "Family name"}, text{"Uw achternaam", "Your family name"}},
			{"dateofbirth", text{"Geboortedatum", "Date of birth"}, text{"Uw geboortedatum", "Your date of birth"}},
			{"city", text{"Woonplaats", "City of residence"}, text{"De plaats waar u woont", "The city where you live"}},
		},
	},
	{
		ID:          "mobilenumber",
		Name:        text{"Demo mobiel nummer", "Demo mobile number"},
		Description: text{"Uw mobiele telefoonnummer", "Your mobile phone number"},
		Attributes: []attributeSpec{
			{"mobilenumber", text{"Mobiel telefoonnummer", "Mobile phone number"}, text{"Uw mobiele telefoonnummer", "Your mobile phone number"}},
		},
	},
}
