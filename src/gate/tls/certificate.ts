// X.509 certificates for the gate's own CA and the leaves it signs for terminated destinations,
// built from the ASN.1 schema types of @peculiar/asn1-x509 and signed with node:crypto (ECDSA
// P-256, SHA-256). node:crypto verifies and parses certificates but cannot issue them.
import { createHash, type KeyObject, randomBytes, sign } from "node:crypto";
import { ecdsaWithSHA256 } from "@peculiar/asn1-ecc";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_serverAuth,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from "@peculiar/asn1-x509";
import ipaddr from "ipaddr.js";

const CN = "2.5.4.3";
const O = "2.5.4.10";

function name(cn: string): Name {
  return new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: O, value: new AttributeValue({ utf8String: "Corral" }) }),
    ]),
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: CN, value: new AttributeValue({ utf8String: cn }) }),
    ]),
  ]);
}

function spki(key: KeyObject): SubjectPublicKeyInfo {
  return AsnConvert.parse(key.export({ type: "spki", format: "der" }), SubjectPublicKeyInfo);
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subject public key bits. */
function keyId(key: KeyObject): ArrayBuffer {
  const bits = spki(key).subjectPublicKey;
  return new Uint8Array(createHash("sha1").update(new Uint8Array(bits)).digest()).buffer;
}

const ext = (extnID: string, critical: boolean, value: unknown) =>
  new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

function serial(): ArrayBuffer {
  const s = randomBytes(16);
  s[0]! &= 0x7f; // positive
  s[0]! |= 0x01; // and no leading zero byte to strip
  return new Uint8Array(s).buffer;
}

function signed(tbs: TBSCertificate, issuerKey: KeyObject): string {
  const der = Buffer.from(AsnConvert.serialize(tbs));
  const signature = sign("sha256", der, { key: issuerKey, dsaEncoding: "der" });
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: ecdsaWithSHA256,
    signatureValue: new Uint8Array(signature).buffer,
  });
  const b64 = Buffer.from(AsnConvert.serialize(cert)).toString("base64");
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/.{1,64}/g, "$&\n")}-----END CERTIFICATE-----\n`;
}

export interface CaMaterial {
  cert: string;
  key: KeyObject;
  publicKey: KeyObject;
  subject: string;
}

/** A self-signed CA that may sign server leaves only (pathLen 0). */
export function issueCa(privateKey: KeyObject, publicKey: KeyObject, subject: string, now: Date, days: number): string {
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial(),
    signature: ecdsaWithSHA256,
    issuer: name(subject),
    subject: name(subject),
    validity: new Validity({
      notBefore: new Date(now.getTime() - 3600_000),
      notAfter: new Date(now.getTime() + days * 86400_000),
    }),
    subjectPublicKeyInfo: spki(publicKey),
    extensions: new Extensions([
      ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
      ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
      ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId(publicKey))),
    ]),
  });
  return signed(tbs, privateKey);
}

/** A server certificate for one host name or address, signed by the CA. */
export function issueLeaf(ca: CaMaterial, host: string, leafPublicKey: KeyObject, now: Date, hours: number): string {
  const san = ipaddr.isValid(host) ? new GeneralName({ iPAddress: host }) : new GeneralName({ dNSName: host });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial(),
    signature: ecdsaWithSHA256,
    issuer: name(ca.subject),
    subject: name(host.length <= 64 ? host : "corral-terminated"),
    validity: new Validity({
      notBefore: new Date(now.getTime() - 3600_000),
      notAfter: new Date(now.getTime() + hours * 3600_000),
    }),
    subjectPublicKeyInfo: spki(leafPublicKey),
    extensions: new Extensions([
      ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
      ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
      ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
      ext(id_ce_subjectAltName, false, new SubjectAlternativeName([san])),
      ext(
        id_ce_authorityKeyIdentifier,
        false,
        new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId(ca.publicKey)) }),
      ),
    ]),
  });
  return signed(tbs, ca.key);
}
