package connectors

import "context"

// Entity types of a catalogue, as the mapping pages name them.
const (
	EntityVariant  = "variant"
	EntityLocation = "location"
	// EntityTaxCode and EntityPaymentMethod are an accounting system's tax
	// codes, and its payment methods with the accounts money is deposited to.
	EntityTaxCode       = "tax_code"
	EntityPaymentMethod = "payment_method"
)

// Record is one record of a system's catalogue.
type Record struct {
	ExternalID, SKU, Barcode, Name string
	// VariantTitle is a variant's own title ("Blue / L"), ImageURL its
	// image (else its product's): "" when the system has none.
	VariantTitle, ImageURL string
}

// CatalogueReader is a client that can list what its system holds: the
// catalogue the mapping pages match against.
type CatalogueReader interface {
	// ReadCatalogue hands every product variant, then every stock
	// location, to put in batches (entity is EntityVariant or
	// EntityLocation; an accounting system also hands its EntityTaxCode
	// and EntityPaymentMethod records). An error from put stops the
	// reading.
	ReadCatalogue(ctx context.Context, put func(entity string, batch []Record) error) error
}
