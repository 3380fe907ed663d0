package domain

import "github.com/cus-suite/cus/platform/sheet"

// Fold turns a label as people type it ("Forma prawna", "Spółka z o.o.", "KOD-POCZTOWY") into a key
// ("forma_prawna", "spolka_z_o_o", "kod_pocztowy"): platform/sheet.Fold, shared with the catalogue's import.
func Fold(s string) string { return sheet.Fold(s) }

// FoldName is the key two provider names are the same under: Fold without the separators' kind mattering
// ("Grupa „Sąsiedzi”" and "grupa sasiedzi" are the same).
func FoldName(s string) string { return Fold(s) }
