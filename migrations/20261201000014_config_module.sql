-- A configuration may name its PKCS#11 module (settings `pkcs11_modules`);
-- NULL: the default module (`pkcs11_module`), as every configuration had.
ALTER TABLE hsm_configs ADD COLUMN module TEXT;
