// SPDX-License-Identifier: AGPL-3.0-or-later
/* The Native block of flows (schema.c, native.c, sort_rows.c) byte for byte:
 * the block below is what the writer POSTed for these six flows before the
 * store was split into schema, Native encoding and transports (captured from
 * commit 0c1d83c). A change of these bytes changes what ClickHouse receives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "store/store_internal.h"
#include "test.h"

/* Six rows, unsorted, over several minutes, two exporters; arrays with
 * counts past their capacity too. */
/* The block holds the bytes of literal `lit` (a static array, its NUL not counted). */
#define CHECK_HAS(got, at, lit) CHECK(memmem(got, at, lit, sizeof(lit) - 1) != NULL)

static const char golden_hex[] =
    "2e060c54696d655265636569766564084461746554696d6500f1536525f153654af15365"
    "94f153656ff15365b9f153650c53616d706c696e67526174650655496e743634bde4133f"
    "2d7d37f53a281a0e7c4622322c68facfd82fd542a617394f89084ec6568c63edb0b942e0"
    "ab1a8c0333c546cc0f4578706f72746572416464726573730f4669786564537472696e67"
    "2831362900000000000000000000ffffc000020100000000000000000000ffffc0000202"
    "00000000000000000000ffffc000020100000000000000000000ffffc000020100000000"
    "000000000000ffffc000020200000000000000000000ffffc00002020753726341646472"
    "0f4669786564537472696e6728313629ea2fe126fa75b544b6bf120c121a1cb25464d001"
    "55b1d421458378220670b825ec43b31630d8a7464eb4c512a82b2925aa133983d231af6a"
    "0ea4e13e222684393e56541274a41591a0fbceff34bc6d1797d22f4bd594dd9a21fd78fa"
    "8bce6f8507447374416464720f4669786564537472696e67283136293b3ff7ae4b07d5d4"
    "592f4d97d06b9da2cd1450aed73c62a8f3d82f059d223c3cc5e073dfeea1482638c43d89"
    "4e0cf22dd9d22f9bac732d1f134df1e6a13492f18f30884b855efafd72569023053905f1"
    "36701a0edc79475d2117939a1f4d0d6f0a5372634e65744d61736b0555496e7438844ab1"
    "5504b20a4473744e65744d61736b0555496e7438e1bacca7d0cd0553726341530655496e"
    "7433324371f7000884117fab467096553f8fdcb9bcc11245234fab054473744153065549"
    "6e743332ba7bfdd2cf1a42c4d168de039daa61f91ad625191a824dff0944737441535061"
    "74680d41727261792855496e743332290f00000000000000160000000000000026000000"
    "00000000330000000000000035000000000000003700000000000000c0bb40b22df5b2e1"
    "e40b5f31830ec817731567916c3e38d22b4b8786e7622a1020d2ed60ecfb3a8a9bac85e4"
    "c9e473a5c4572131992270d2ed00e0a311bd26202af6f360d47963dd3e3cfe633fbba8ff"
    "ac97a2b5a80d85ba41cd24665c9e993690b5cc5db954c417fd82adbabf4a72463e262c2e"
    "3c20f4e9727612280460028adb1832cacf309ad1da097dc7144a7cb66387d8137f63cf96"
    "601ede238fe2155ff7f61f3359bb601c345a42265240909d06ccc3faeb8815916a8cf7ea"
    "33f79a5d79a7aa231531bbbc2deddc4d97ca395fa92eeaad9f28562a6e8c6d5b0e447374"
    "436f6d6d756e69746965730d41727261792855496e743332291000000000000000170000"
    "00000000001b0000000000000020000000000000002e0000000000000036000000000000"
    "00c893988bd0a15c3aa485c43185b6e11e8c3dbd621c34a84b2b9704aeb3940f799d8c97"
    "e6c33ef853bdde19a97648cc678b7efcc74caac3f293b2656f719b4ad639ebe45d8ffcdf"
    "b0c94a9c1d4de9d0abf2c7dc19dba075d340d885522dc1503a06085a32de51ff8cdb04c8"
    "d9913892df5a024494a3408477cf50b2f1a29140ea55af92830c026abe592373a30e243e"
    "4a56bcdf021e802d71a5568081c47de13474686af0f76ae679ddf4113d4d5599c4f32480"
    "c9c471e15c8de0c7c67505b91c42545ed0b7e6198790f9a067b7707af8b77296850e4c6a"
    "e0174473744c61726765436f6d6d756e69746965732e41534e0d41727261792855496e74"
    "333229040000000000000007000000000000000b000000000000000f0000000000000013"
    "0000000000000017000000000000003f83144c5430ca592949b9d8846f3d45fc5fe9fa60"
    "8069030e7c0af2279b2a7c669a3b09147c32dcf69190234cc03943ca51972ee8e128e876"
    "3ef083b97ac2671b8d028e2658bab7ad2218c8532d0dc96e90fd7aff3ebcd996076d5d1e"
    "4473744c61726765436f6d6d756e69746965732e4c6f63616c44617461310d4172726179"
    "2855496e74333229040000000000000007000000000000000b000000000000000f000000"
    "000000001300000000000000170000000000000000f2356503957a3e9350022a67337ba7"
    "f7a413658550f6adc1d08d64442cba0db3d0d3a4d7101ac8e5e065e121e35ea2489275d1"
    "e9523a14b4f5bc49a3fec1d0613f619fa67f6f0f73097b6922cc4d774c4ac60f86dd2a26"
    "5b43c3dc1e4473744c61726765436f6d6d756e69746965732e4c6f63616c44617461320d"
    "41727261792855496e74333229040000000000000007000000000000000b000000000000"
    "000f00000000000000130000000000000017000000000000002d31b35aa22f81fe36d487"
    "641cfe89e6691fff783cee45c97a00fa5901113ff95f074fdd2f4f518782dda6b1697763"
    "c5be3177f7864ba70a7ba394a71157c3e000cc3187c10870d07d619be4819c6b8b75a172"
    "a680bd425471dba61504496e49660655496e743332000000000100000002000000010000"
    "000000000002000000054f757449660655496e7433320000000001000000020000000400"
    "000003000000000000000545547970650655496e7433329d0432a87f9192e3d32a1888c0"
    "f52858196b6dfd81e621e50550726f746f0555496e7438b3b78e9e046c07537263506f72"
    "740655496e7431367d611ffd5bd1a71cd5f28fba07447374506f72740655496e74313671"
    "69d6c93692bcf189acfbc00542797465730655496e7436345aeced52f609b320c265b7b8"
    "6f99e05318e4f3acd5e8bde0dbe85bf11ad829178370fe2bb5b42d7fa9d6ffdc430599fc"
    "075061636b6574730655496e7436345ec2b9acbbd20d75b1443e986157e766cf1c047e22"
    "4ec85daf62e65b896afcf107772949536d7527d1f831ad208c072f10466f727761726469"
    "6e675374617475730655496e74333257ad78522cecc73edffe71590e02247038dee776a6"
    "03c97a0d466c6f77446972656374696f6e33456e756d382827756e646566696e65642720"
    "3d20302c2027696e677265737327203d20312c202765677265737327203d203229000101"
    "00010007537263566c616e0655496e743136e06b0cecc499a89f7a369bca07447374566c"
    "616e0655496e7431360f39b9eeaee12a9e5056d32c065372634d41430655496e743634b9"
    "ec5fd926121026ba4b7557dbf805efeb92dfbebb0ad037d08148a683de39b13ff114821d"
    "c7c69f0f2b3df34c7c0468064473744d41430655496e743634a679afc6e3c81745fcfb56"
    "02d033b740f724829140b8218f1cd041c7362a3c5022bc955caa9908acc0498da0dd6c54"
    "c40a537263416464724e41540f4669786564537472696e67283136293fa36aa6373f9724"
    "825575917e3e529c6a2e747ef6695965a5b61bc1c893aad920001cac1749f17cc81b67f9"
    "261a6ade95c0cf0c3620604472bc0719559b960f67336537f798bfc8d10078b69d2446f4"
    "84b18e37db58a6dba6514df1dc0559890a447374416464724e41540f4669786564537472"
    "696e67283136298f66c40521093f87f467fbb2cbe6f9bab08f30128a43b594d198a9b00f"
    "09338fcf1c1ceee5b6ebb8236b2d3df9023cf83b29c5c4c796ed48286ca0c300c62f6b29"
    "63cb209649915636740c08b0b1fe2500e2ef92dd68728259db1814b6d9f63f0a53726350"
    "6f72744e41540655496e7431367db7ac11c3b03c68fde637570a447374506f72744e4154"
    "0655496e743136c6ef3b8f57f9747a25fd797f05495054544c0555496e7438f6aa10057a"
    "8a054950546f730555496e743883d3d631b6bb0c4950467261676d656e7449440655496e"
    "743332ce151ba16e0a561c7b95dc716620e2796a2224a4ca874408104950467261676d65"
    "6e744f66667365740655496e743136517519799859d346be9f866f0d49507636466c6f77"
    "4c6162656c0655496e7433329c55b7a6684e301c9f700cce915662dc817808008c0f3bc5"
    "08544350466c6167730655496e743136535ba99a932688bd5456699f0a49434d50763454"
    "7970650555496e74387280692361ce0a49434d507634436f64650555496e7438ae237f25"
    "dd550a49434d507636547970650555496e743859abb7731af10a49434d507636436f6465"
    "0555496e74387b4462296616074e657874486f700f4669786564537472696e6728313629"
    "03cb54fe5919cdba91bce112aa298de4dcc56c04ec21bb7a5ca097f2ed24aa8b4fdd6622"
    "be77b3f05f194bfd663e0c3e36d4df38ee1789d02953295fed8a454df231adc4033d9938"
    "5c9a179f0e5e3686d98c0dc3a63f2789c8158ba4a7ca47b50a4d504c534c6162656c730d"
    "41727261792855496e743332290a000000000000000a0000000000000014000000000000"
    "001e0000000000000028000000000000003200000000000000278f0650fc9906ac35155b"
    "6791d4372d6bd7c0d3fccb7c9857eb862f51ff0e20bcd5b291d6e5620aaedb0ce0d5a4a9"
    "3aac31e18c119beaa9d41b29dfec23b588c198998ccddc8b96af0ac607b126fa3152ea55"
    "7521850c10e6b3ca1b376f692b7f2b9352f0ff6652565e282aaee3e80323b512708ccb7c"
    "448540067284f7f67f23c5568e239fee31eb686ace3d072da7f4a31c3cce5bfdea655909"
    "7f59afac7d1949a94eb467991c72e2b98cfd20402e9887565454bc032785543046a6c1ba"
    "6f2be55456ac598fca0c496e677265737356524649440655496e7433327d39d54aae47bd"
    "5c8172f8018b4ef6bf76aeed1e201cae230b45677265737356524649440655496e743332"
    "fc65c3e4bc4d071987d4096d7efcebf09023dfc88564a839";

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Every byte of the flow from a xorshift generator, then the enum and the
 * array counts in range (or a little past their capacity), and the sorting
 * key's first columns from a few values. */
static void golden_flow(struct flow *f, unsigned i)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL * (i + 1);
	uint8_t *p = (uint8_t *)f;

	/* Random bytes as struct flow was laid out when the golden block was
	 * captured: without `enriched` (zero: not written without strings). */
	const size_t skip = offsetof(struct flow, enriched), skip_len = sizeof(f->enriched);

	for (size_t k = 0; k < sizeof(*f); k++) {
		if (k == skip)
			k += skip_len;
		if (k < sizeof(*f))
			p[k] = (uint8_t)next(&s);
	}
	memset(&f->enriched, 0, sizeof(f->enriched));
	for (size_t k = 0; k < flow_fields_count; k++) {
		const struct flow_field *fl = &flow_fields[k];

		if (fl->kind == FLOW_FIELD_DIRECTION)
			p[fl->offset] %= 3;
		else if (fl->kind == FLOW_FIELD_U32_ARRAY ||
			 fl->kind == FLOW_FIELD_LARGE_COMMUNITY_ARRAY)
			p[fl->count_offset] %= 20;
	}
	f->time_received = 1700000000 + (i * 37) % 200;
	addr_from_ipv4(&f->exporter_address, 0xc0000201 + i % 2);
	f->in_if = i % 3;
	f->out_if = i % 5;
}

static size_t golden(uint8_t *out, size_t size)
{
	size_t n = strlen(golden_hex) / 2;

	REQUIRE(n <= size);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		REQUIRE(sscanf(golden_hex + 2 * i, "%2x", &v) == 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void batch_new(struct store_native_batch *b)
{
	struct store_column *cols;
	size_t n;
	struct error err = {{0}};

	REQUIRE(store_flows_columns(&cols, &n) == 0);
	REQUIRE(store_native_batch_init(b, cols, n, store_flows_sort_key, &err) == 0);
	free(cols);
}

static void append(struct store_native_batch *b, const struct flow *f, size_t n)
{
	size_t need = store_native_batch_need(b, f, n);

	REQUIRE(store_native_batch_reserve(b, n) == 0);
	store_native_batch_encode(b, f, n);
	CHECK(need > 0);
}

/* The block as the writer sends it: sorted, then its pieces in a row. */
static size_t block_bytes(struct store_native_batch *b, uint8_t *out, size_t size)
{
	struct store_block block;
	size_t at = 0;

	REQUIRE(store_native_batch_sort(b) == 0);
	REQUIRE(store_native_batch_block(b, &block) == 0);
	REQUIRE(block.bytes <= size);
	for (size_t i = 0; i < block.nsegs; i++) {
		memcpy(out + at, block.segs[i].p, block.segs[i].len);
		at += block.segs[i].len;
	}
	CHECK_EQ(at, block.bytes);
	CHECK_EQ(block.rows, b->rows);
	return at;
}

/* The batch, sorted, gives the block of before, byte for byte (captured
 * with flows' key by the minute, which tables created before session 11
 * keep: time_by_the_second_or_by_the_minute checks both orders). */
static void check_golden(struct store_native_batch *b)
{
	static uint8_t want[8192], got[8192];
	size_t m, n, i = 0;

	b->by_minute = 1;
	m = golden(want, sizeof(want));
	n = block_bytes(b, got, sizeof(got));

	CHECK_EQ(n, m);
	while (i < n && i < m && got[i] == want[i])
		i++;
	if (i < n || i < m)
		test_fail_at(__FILE__, __LINE__, "blocks differ from byte %zu", i);
}

static void golden_flows(struct flow f[6])
{
	for (unsigned i = 0; i < 6; i++)
		golden_flow(&f[i], i);
}

TEST(flows_block_as_before)
{
	struct store_native_batch b;
	struct flow f[6];

	golden_flows(f);
	batch_new(&b);
	append(&b, f, 6);
	CHECK_EQ(b.rows, 6);
	check_golden(&b);
	store_native_batch_fini(&b);
}

TEST(appends_in_parts_and_after_clear_give_the_same_block)
{
	struct store_native_batch b;
	struct flow f[6];

	golden_flows(f);
	batch_new(&b);
	append(&b, f + 3, 1); /* rows that are cleared: nothing of them is left */
	store_native_batch_clear(&b);
	CHECK_EQ(b.rows, 0);
	CHECK_EQ(b.bytes, 0);
	append(&b, f, 2);
	append(&b, f + 2, 4);
	check_golden(&b);
	check_golden(&b); /* sorting again changes nothing */
	store_native_batch_fini(&b);
}

TEST(columns_of_flows)
{
	struct store_column *cols;
	size_t n, arrays = 0;

	REQUIRE(store_flows_columns(&cols, &n) == 0);
	/* The stored fields, the large communities as three arrays. */
	CHECK_EQ(n, flow_fields_count - 2 + 2);
	CHECK_STR(cols[0].name, "TimeReceived");
	CHECK_EQ(cols[0].enc, STORE_ENC_DATETIME);
	for (size_t i = 0; i < n; i++) {
		arrays += (size_t)store_column_is_array(&cols[i]);
		if (store_column_is_array(&cols[i]))
			CHECK(cols[i].max_count > 0);
		if (!strcmp(cols[i].name, "DstLargeCommunities.LocalData2"))
			CHECK_EQ(cols[i].member, 2);
	}
	CHECK_EQ(arrays, 6); /* MPLSLabels, DstASPath, DstCommunities, 3 large communities */
	free(cols);
}

/* The block's bytes into out[0..size) (all of them: checked); returns how many. */
static size_t block_copy(const struct store_block *block, uint8_t *out, size_t size)
{
	size_t at = 0;

	for (size_t i = 0; i < block->nsegs; i++) {
		REQUIRE(at + block->segs[i].len <= size);
		memcpy(out + at, block->segs[i].p, block->segs[i].len);
		at += block->segs[i].len;
	}
	return at;
}

/* The enrichment columns (store_writer_set_strings): ids become Strings when
 * the block is built, after the rows are sorted; 0 is "". */
TEST(enrichment_columns_resolve_ids)
{
	struct store_column cols[STORE_ENRICH_COLUMNS];
	struct store_native_batch b;
	struct strtab *strs;
	struct flow f[3];
	struct store_block block;
	static uint8_t got[16384];
	size_t n, at = 0;
	struct error err = {{0}};

	REQUIRE(strtab_new(0, &strs, NULL) == 0);
	n = store_enrich_columns(strs, cols);
	CHECK(n >= 34);
	CHECK_STR(cols[0].name, "ExporterName");
	CHECK_EQ(cols[0].enc, STORE_ENC_STRID);
	REQUIRE(store_native_batch_init(&b, cols, n, store_flows_sort_key, &err) == 0);
	for (unsigned i = 0; i < 3; i++)
		golden_flow(&f[i], i);
	f[0].enriched.exporter.name = strtab_intern_cstr(strs, "par1-edge1");
	f[0].enriched.in_if.speed = 100000;
	f[0].enriched.in_if.boundary = FLOW_BOUNDARY_EXTERNAL;
	memcpy(f[0].enriched.src_net.country, "FR", 2);
	f[2].enriched.exporter.name = strtab_intern_cstr(strs, "x");
	append(&b, f, 3);
	REQUIRE(store_native_batch_block(&b, &block) == 0);
	at = block_copy(&block, got, sizeof(got));
	CHECK_EQ(at, block.bytes);
	/* ExporterName first: its header, then three rows (unsorted here). */
	static const uint8_t want[] = "\x0c"
				      "ExporterName\x06"
				      "String\x0apar1-edge1\x00\x01x";
	const uint8_t *p = memmem(got, at, want, sizeof(want) - 1);
	CHECK(p != NULL);
	static const uint8_t country[] = "\x0a"
					 "SrcCountry\x0e"
					 "FixedString(2)FR\x00\x00\x00\x00";
	CHECK_HAS(got, at, country);
	static const uint8_t speed[] = "\x09InIfSpeed\x06UInt32\xa0\x86\x01\x00";
	CHECK_HAS(got, at, speed);
	store_native_batch_fini(&b);
	strtab_free(strs);
}

/* A batch of ExporterName alone holding six rows of ids "ab", "ab", "",
 * a 200-byte string, the same, "ab" (the ids in ids[], `longer` the
 * string), for the tests of string-id columns. */
static void six_names(struct strtab **strs, struct store_native_batch *b, char longer[201],
		      uint32_t ids[6])
{
	struct store_column cols[STORE_ENRICH_COLUMNS];
	struct flow f[6];
	struct error err = {{0}};
	uint32_t a, l;

	REQUIRE(strtab_new(0, strs, NULL) == 0);
	REQUIRE(store_enrich_columns(*strs, cols) >= 1); /* ExporterName: the first */
	REQUIRE(store_native_batch_init(b, cols, 1, NULL, &err) == 0);
	memset(longer, 'z', 200);
	longer[200] = '\0';
	a = strtab_intern_cstr(*strs, "ab");
	l = strtab_intern_cstr(*strs, longer);
	const uint32_t want[6] = {a, a, 0, l, l, a};
	for (unsigned i = 0; i < 6; i++) {
		golden_flow(&f[i], i);
		ids[i] = want[i];
		f[i].enriched.exporter.name = ids[i];
	}
	append(b, f, 6);
}

/* Rows repeating the row before's id reuse its string and encoded length
 * (strid_text): runs of the same id, back to "", and a string of more than
 * 127 bytes (a two-byte length), in the batch's order (no sorting column
 * among these). */
TEST(string_ids_repeated_and_long)
{
	struct store_native_batch b;
	struct strtab *strs;
	struct store_block block;
	static uint8_t got[4096], want[1024];
	char longer[201];
	size_t at = 0, w = 0;
	uint32_t ids[6], a;

	six_names(&strs, &b, longer, ids);
	a = ids[0];
	REQUIRE(store_native_batch_block(&b, &block) == 0);
	at = block_copy(&block, got, sizeof(got));
	for (unsigned i = 0; i < 6; i++) {
		size_t len = ids[i] == a ? 2 : ids[i] ? 200 : 0;
		const char *s = ids[i] == a ? "ab" : longer;

		if (len >= 128) {
			want[w++] = (uint8_t)(len | 0x80);
			want[w++] = (uint8_t)(len >> 7);
		} else {
			want[w++] = (uint8_t)len;
		}
		memcpy(want + w, s, len);
		w += len;
	}
	/* The block ends with the column's strings. */
	REQUIRE(at >= w);
	CHECK_EQ(memcmp(got + at - w, want, w), 0);
	store_native_batch_fini(&b);
	strtab_free(strs);
}

/* A string-id column marked LowCardinality(String): its type in the header,
 * then ClickHouse's serialization without a shared dictionary (keys
 * version 1; index type UInt8 with the additional-keys bit; the keys in
 * order of first sight, "" among them; the rows' indexes), the same when
 * the block is built again (a retried flush), and back to String when
 * unmarked. */
TEST(string_ids_as_low_cardinality)
{
	struct store_native_batch b;
	struct strtab *strs;
	struct store_block block;
	static uint8_t got[4096], again[4096], want[1024];
	char longer[201];
	size_t at, w = 0;
	uint32_t ids[6];

	six_names(&strs, &b, longer, ids);
	store_native_batch_low_cardinality(&b, "InIfName\nExporterName\n");
	REQUIRE(store_native_batch_block(&b, &block) == 0);
	at = block_copy(&block, got, sizeof(got));
	REQUIRE(store_native_batch_block(&b, &block) == 0);
	CHECK_EQ(block_copy(&block, again, sizeof(again)), at);
	CHECK_EQ(memcmp(got, again, at), 0);

	static const uint8_t head[] = "\x01\x06\x0c"
				      "ExporterName\x16"
				      "LowCardinality(String)";
	memcpy(want, head, sizeof(head) - 1);
	w = sizeof(head) - 1;
	const uint64_t u[] = {1, 0 | 1u << 9, 3};
	memcpy(want + w, u, sizeof(u));
	w += sizeof(u);
	want[w++] = 2;
	memcpy(want + w, "ab", 2);
	w += 2;
	want[w++] = 0;
	want[w++] = 200 | 0x80;
	want[w++] = 1;
	memset(want + w, 'z', 200);
	w += 200;
	const uint64_t rows = 6;
	memcpy(want + w, &rows, 8);
	w += 8;
	static const uint8_t idx[] = {0, 0, 1, 2, 2, 0};
	memcpy(want + w, idx, 6);
	w += 6;
	CHECK_EQ(at, w);
	CHECK_EQ(memcmp(got, want, w), 0);

	store_native_batch_low_cardinality(&b, "InIfName\n");
	REQUIRE(store_native_batch_block(&b, &block) == 0);
	at = block_copy(&block, got, sizeof(got));
	static const uint8_t text[] = "\x0c"
				      "ExporterName\x06"
				      "String\x02"
				      "ab\x02"
				      "ab\x00";
	CHECK_HAS(got, at, text);
	store_native_batch_fini(&b);
	strtab_free(strs);
}

/* A string table (*strs) and the columns of flows then of the enrichment
 * into cols[] (n of flows, ne of the enrichment: room for
 * STORE_ENRICH_COLUMNS + 128), and the enrichment's string columns a line
 * each in lc[] (1024 bytes), as the LowCardinality list of a modern
 * server. */
static void enriched_columns(struct strtab **strs, struct store_column *cols, size_t *n, size_t *ne,
			     char *lc)
{
	struct store_column *flows_cols;

	REQUIRE(strtab_new(0, strs, NULL) == 0);
	REQUIRE(store_flows_columns(&flows_cols, n) == 0);
	REQUIRE(*n <= 128);
	memcpy(cols, flows_cols, *n * sizeof(*cols));
	free(flows_cols);
	*ne = store_enrich_columns(*strs, cols + *n);
	lc[0] = 0;
	for (size_t k = 0; k < *ne; k++)
		if (cols[*n + k].enc == STORE_ENC_STRID)
			strcat(strcat(lc, cols[*n + k].name), "\n");
}

/* Rows that differ only from InIfName on (flows' sorting key: time,
 * exporter, InIfName...) come out in the order of their strings, as
 * ClickHouse compares them (bytes, then the shorter first), not in the
 * order of their ids: interned "b", "a", "c", "ab", sent "a", "ab", "b",
 * "c", each row's other columns with it. */
TEST(string_ids_sort_by_their_strings)
{
	struct store_column cols[STORE_ENRICH_COLUMNS + 128];
	struct store_native_batch b;
	struct strtab *strs;
	struct flow f[4];
	static uint8_t got[65536];
	static const char *const names[4] = {"b", "a", "c", "ab"};
	char lc[1024];
	size_t n, ne, at;
	struct error err = {{0}};

	enriched_columns(&strs, cols, &n, &ne, lc);
	n += ne;
	REQUIRE(store_native_batch_init(&b, cols, n, store_flows_sort_key, &err) == 0);
	for (unsigned i = 0; i < 4; i++) {
		golden_flow(&f[i], 0);
		f[i].enriched.in_if.name = strtab_intern_cstr(strs, names[i]);
		f[i].src_port = (uint16_t)(1000 + i);
	}
	append(&b, f, 4);
	at = block_bytes(&b, got, sizeof(got));
	static const uint8_t want[] = "\x08InIfName\x06String\x01"
				      "a\x02"
				      "ab\x01"
				      "b\x01"
				      "c";
	CHECK_HAS(got, at, want);
	/* SrcPort followed its row: 1001 (a), 1003 (ab), 1000 (b), 1002 (c). */
	static const uint8_t ports[] = "\x07SrcPort\x06UInt16\xe9\x03\xeb\x03\xe8\x03\xea\x03";
	CHECK_HAS(got, at, ports);
	store_native_batch_fini(&b);
	strtab_free(strs);
}

/* flows' key starts with TimeReceived, by its second, or by its minute in
 * a table created before session 11 (the writer sets by_minute): rows of
 * one minute, their exporters in the reverse order of their seconds, come
 * out by second, or by exporter within the minute. */
TEST(time_by_the_second_or_by_the_minute)
{
	struct store_native_batch b;
	struct flow f[4];
	static uint8_t got[65536];
	size_t at;

	for (int by_minute = 0; by_minute < 2; by_minute++) {
		batch_new(&b);
		b.by_minute = by_minute;
		for (unsigned i = 0; i < 4; i++) {
			memset(&f[i], 0, sizeof(f[i]));
			f[i].time_received = 1700000040 + 4 - i; /* 44, 43, 42, 41: one minute */
			f[i].exporter_address.s6_addr[15] = (uint8_t)(1 + i);
			f[i].src_port = (uint16_t)(1000 + i);
		}
		append(&b, f, 4);
		at = block_bytes(&b, got, sizeof(got));
		/* by the second: 1003 (41), 1002, 1001, 1000; by the minute, by
		 * exporter: 1000 (exporter 1), 1001, 1002, 1003 */
		static const uint8_t by_second[] =
		    "\x07SrcPort\x06UInt16\xeb\x03\xea\x03\xe9\x03\xe8\x03";
		static const uint8_t by_minute_ports[] =
		    "\x07SrcPort\x06UInt16\xe8\x03\xe9\x03\xea\x03\xeb\x03";
		if (by_minute)
			CHECK_HAS(got, at, by_minute_ports);
		else
			CHECK_HAS(got, at, by_second);
		store_native_batch_fini(&b);
	}
}

static void append_tuples(struct store_native_batch *b, const struct flow *f, size_t n,
			  const uint32_t *ids)
{
	CHECK(store_native_batch_need(b, f, n) > 0);
	REQUIRE(store_native_batch_reserve(b, n) == 0);
	store_native_batch_encode_tuples(b, f, n, ids);
}

/* Forty flows whose enrichment differs in every column, in the reverse of
 * flows' order (InIf decreasing, the key's columns before it the same). */
static void enriched_flows(struct strtab *strs, struct flow f[40])
{
	char s[32];

#define STR(fmt, ...) (snprintf(s, sizeof(s), fmt, __VA_ARGS__), strtab_intern_cstr(strs, s))
	for (unsigned i = 0; i < 40; i++) {
		struct flow_enrichment *e = &f[i].enriched;
		struct flow_interface_attrs *ifs[2] = {&e->in_if, &e->out_if};
		struct flow_network_attrs *nets[2] = {&e->src_net, &e->dst_net};

		golden_flow(&f[i], 0);
		f[i].in_if = 100 - i;
		e->exporter = (struct flow_exporter_attrs){STR("ex%u", i % 3), STR("g%u", i % 5),
							   STR("r%u", i % 2),  STR("s%u", i % 7),
							   STR("re%u", i),     STR("t%u", i % 4)};
		for (unsigned d = 0; d < 2; d++) {
			ifs[d]->name = STR("if%u", d);
			ifs[d]->description = STR("desc %u %u", d, i);
			ifs[d]->connectivity = STR("c%u", (i + d) % 3);
			ifs[d]->provider = i % 4 ? STR("p%u", i % 6) : 0;
			ifs[d]->speed = 1000 * i + d;
			ifs[d]->boundary = (uint8_t)((i + d) % 3);
			nets[d]->name = STR("net%u-%u", d, i % 9);
			nets[d]->role = STR("role%u", i % 2);
			nets[d]->site = STR("site%u", i % 5);
			nets[d]->region = STR("region%u", i % 3);
			nets[d]->tenant = i % 2 ? STR("ten%u", d) : 0;
			nets[d]->state = STR("st%u", i % 11);
			nets[d]->city = STR("city%u", i);
			nets[d]->country[0] = (char)('A' + i % 26);
			nets[d]->country[1] = (char)('Z' - d);
		}
	}
#undef STR
}

/* The enrichment columns not in the sorting key are appended as one record
 * a row, or as the index of an interned record (the writer's tuples), and
 * split into their columns by the sort or the block (native.c): each
 * column's bytes, String then LowCardinality, are those of a batch of that
 * column alone (not packed) fed the rows in sorted order: with every row
 * appended before the sort (split through its permutation), and with a
 * block built between two appends (split in two steps, then permuted as
 * any column), each way. */
TEST(packed_enrichment_columns_as_unpacked)
{
	struct store_column cols[STORE_ENRICH_COLUMNS + 128];
	struct store_native_batch b[4], one;
	static struct flow_enrichment tuples[40];
	uint32_t ids[40];
	struct store_block block;
	struct strtab *strs;
	static struct flow f[40], sorted[40];
	static uint8_t got[4][262144], want[65536];
	char lc[1024] = "";
	size_t n, ne, at[4];
	struct error err = {{0}};

	enriched_columns(&strs, cols, &n, &ne, lc);
	enriched_flows(strs, f);
	f[38].enriched = f[0].enriched;
	f[39].enriched = f[1].enriched;
	for (unsigned i = 0; i < 40; i++) {
		sorted[i] = f[39 - i];
		/* interned in another order, the last two rows as the first two */
		ids[i] = i < 38 ? 37 - i : 37 - (i - 38);
		tuples[ids[i]] = f[i].enriched;
	}
	for (int t = 0; t < 4; t++) {
		REQUIRE(store_native_batch_init(&b[t], cols, n + ne, store_flows_sort_key, &err) ==
			0);
		/* every enrichment column but InIfName and OutIfName (sort key) */
		CHECK_EQ(b[t].npacked, ne - 2);
		CHECK(b[t].pack_width >= 4 * (ne - 2));
	}
	append(&b[0], f, 40);
	append(&b[1], f, 25);
	REQUIRE(store_native_batch_block(&b[1], &block) == 0);
	CHECK_EQ(b[1].unpacked, 25);
	append(&b[1], f + 25, 15);
	b[2].tuples = b[3].tuples = tuples;
	b[2].by_tuple = b[3].by_tuple = 1;
	append_tuples(&b[2], f, 40, ids);
	CHECK_EQ(b[2].packed.len, 40 * sizeof(uint32_t)); /* an index a row */
	append_tuples(&b[3], f, 25, ids);
	REQUIRE(store_native_batch_block(&b[3], &block) == 0);
	append_tuples(&b[3], f + 25, 15, ids + 25);
	for (int mode = 0; mode < 2; mode++) {
		for (int t = 0; t < 4; t++) {
			if (mode)
				store_native_batch_low_cardinality(&b[t], lc);
			at[t] = block_bytes(&b[t], got[t], sizeof(got[t]));
		}
		for (int t = 1; t < 4; t++) {
			CHECK_EQ(at[0], at[t]);
			CHECK_EQ(memcmp(got[0], got[t], at[0]), 0);
		}
		for (size_t k = 0; k < ne; k++) {
			size_t w;

			REQUIRE(store_native_batch_init(&one, cols + n + k, 1, NULL, &err) == 0);
			CHECK_EQ(one.npacked, 0);
			append(&one, sorted, 40);
			if (mode)
				store_native_batch_low_cardinality(&one, lc);
			w = block_bytes(&one, want, sizeof(want));
			/* its column after the block's header (1 column, 40 rows) */
			REQUIRE(w > 2);
			if (memmem(got[0], at[0], want + 2, w - 2) == NULL)
				fprintf(stderr, "# mode %d: column %s differs\n", mode,
					cols[n + k].name);
			CHECK(memmem(got[0], at[0], want + 2, w - 2) != NULL);
			store_native_batch_fini(&one);
		}
	}
	for (int t = 0; t < 4; t++)
		store_native_batch_fini(&b[t]);
	strtab_free(strs);
}

/* b[0] by record and b[1] by tuple (from `tuples`), over the n cols: the
 * two ways whose blocks must be the same bytes. */
static void batch_pair_init(struct store_native_batch b[2], const struct store_column *cols,
			    size_t n, const struct flow_enrichment *tuples)
{
	struct error err = {{0}};

	for (int t = 0; t < 2; t++)
		REQUIRE(store_native_batch_init(&b[t], cols, n, store_flows_sort_key, &err) == 0);
	b[1].tuples = tuples;
	b[1].by_tuple = 1;
}

/* A packed (enrichment) column that is its type's default ("", 0, "\0\0")
 * in every row of a block is left out of the block and of the INSERT's
 * column list (ClickHouse fills the default): the same bytes by record and
 * by tuple, String and LowCardinality; one row that is not brings the
 * column back in the next block. */
TEST(default_enrichment_columns_left_out)
{
	struct store_column cols[STORE_ENRICH_COLUMNS + 128];
	struct store_native_batch b[2];
	static struct flow_enrichment tuples[40];
	static struct flow f[40];
	static uint8_t got[2][262144];
	static const char *const gone[] = {"ExporterTenant", "InIfSpeed", "SrcCountry",
					   "OutIfBoundary", "DstNetTenant"};
	uint32_t ids[40];
	struct strtab *strs;
	char lc[1024] = "";
	size_t n, ne, at[2];

	enriched_columns(&strs, cols, &n, &ne, lc);
	enriched_flows(strs, f);
	for (unsigned i = 0; i < 40; i++) {
		struct flow_enrichment *e = &f[i].enriched;

		e->exporter.tenant = 0;
		e->in_if.speed = 0;
		memset(e->src_net.country, 0, 2);
		e->out_if.boundary = 0;
		e->dst_net.tenant = 0;
		ids[i] = 39 - i;
		tuples[ids[i]] = *e;
	}
	batch_pair_init(b, cols, n + ne, tuples);
	for (int mode = 0; mode < 2; mode++) {
		append(&b[0], f, 40);
		append_tuples(&b[1], f, 40, ids);
		for (int t = 0; t < 2; t++) {
			if (mode)
				store_native_batch_low_cardinality(&b[t], lc);
			at[t] = block_bytes(&b[t], got[t], sizeof(got[t]));
			/* the block's column count first (one byte: < 128) */
			CHECK_EQ(got[t][0], n + ne - 5);
			for (size_t g = 0; g < 5; g++)
				CHECK(strstr(b[t].columns, gone[g]) == NULL);
			CHECK(strstr(b[t].columns, "ExporterName") != NULL);
			CHECK(strstr(b[t].columns, "InIfBoundary") != NULL);
			CHECK(memmem(got[t], at[t],
				     "\x0e"
				     "ExporterTenant",
				     15) == NULL);
			CHECK(memmem(got[t], at[t],
				     "\x0c"
				     "ExporterName",
				     13) != NULL);
		}
		CHECK_EQ(at[0], at[1]);
		CHECK_EQ(memcmp(got[0], got[1], at[0]), 0);
		for (int t = 0; t < 2; t++)
			store_native_batch_clear(&b[t]);
	}
	/* One row with a tenant: ExporterTenant is sent again, "" in the
	 * other rows. */
	f[5].enriched.exporter.tenant = strtab_intern_cstr(strs, "acme");
	tuples[ids[5]] = f[5].enriched;
	append(&b[0], f, 40);
	append_tuples(&b[1], f, 40, ids);
	for (int t = 0; t < 2; t++) {
		at[t] = block_bytes(&b[t], got[t], sizeof(got[t]));
		CHECK_EQ(got[t][0], n + ne - 4);
		CHECK(strstr(b[t].columns, "ExporterTenant") != NULL);
		CHECK(memmem(got[t], at[t],
			     "\x0e"
			     "ExporterTenant",
			     15) != NULL);
	}
	CHECK_EQ(at[0], at[1]);
	CHECK_EQ(memcmp(got[0], got[1], at[0]), 0);
	for (int t = 0; t < 2; t++)
		store_native_batch_fini(&b[t]);
	strtab_free(strs);
}

/* Rows in runs of one tuple (forty rows, two tuples, twenty rows each once
 * sorted, as a batch of one exporter's interfaces is): by tuple, the same
 * bytes as by record, String and LowCardinality. */
TEST(runs_of_one_tuple_as_by_record)
{
	struct store_column cols[STORE_ENRICH_COLUMNS + 128];
	struct store_native_batch b[2];
	static struct flow_enrichment tuples[2];
	static struct flow f[40];
	static uint8_t got[2][262144];
	uint32_t ids[40];
	struct strtab *strs;
	char lc[1024] = "";
	size_t n, ne, at[2];

	enriched_columns(&strs, cols, &n, &ne, lc);
	enriched_flows(strs, f);
	tuples[0] = f[0].enriched;
	tuples[1] = f[1].enriched;
	for (unsigned i = 0; i < 40; i++) {
		ids[i] = i < 20;
		f[i].enriched = tuples[ids[i]];
	}
	batch_pair_init(b, cols, n + ne, tuples);
	append(&b[0], f, 40);
	append_tuples(&b[1], f, 40, ids);
	for (int mode = 0; mode < 2; mode++) {
		for (int t = 0; t < 2; t++) {
			if (mode)
				store_native_batch_low_cardinality(&b[t], lc);
			at[t] = block_bytes(&b[t], got[t], sizeof(got[t]));
			CHECK_EQ(got[t][0], n + ne);
		}
		CHECK_EQ(at[0], at[1]);
		CHECK_EQ(memcmp(got[0], got[1], at[0]), 0);
	}
	CHECK_EQ(b[1].nruns, 2);
	for (int t = 0; t < 2; t++)
		store_native_batch_fini(&b[t]);
	strtab_free(strs);
}
