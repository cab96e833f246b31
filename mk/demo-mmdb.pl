#!/usr/bin/perl
# SPDX-License-Identifier: AGPL-3.0-or-later
# The demo's GeoIP files from its world table (config/demo/world.csv, the
# table weir's demo exporter is built with): OUTDIR/asn.mmdb and
# OUTDIR/country.mmdb (GeoLite2-ASN and GeoLite2-Country field names) and
# OUTDIR/asns.csv (asn,name: clickhouse.asns). Needs libmaxmind-db-writer-perl.
# Usage: mk/demo-mmdb.pl WORLD.csv OUTDIR
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ($world, $out) = @ARGV;
die "usage: $0 WORLD.csv OUTDIR\n" unless defined $out;

my %types = (
	country                        => 'map',
	iso_code                       => 'utf8_string',
	autonomous_system_number       => 'uint32',
	autonomous_system_organization => 'utf8_string',
);
sub tree {
	my ($type) = @_;
	return MaxMind::DB::Writer::Tree->new(
		ip_version => 6, record_size => 24, database_type => $type,
		languages => ['en'], description => {en => "weir demo ($type)"},
		map_key_type_callback => sub { $types{$_[0]} },
		# IPv4-mapped lookups find the IPv4 entries; the documentation
		# ranges of the demo network are kept.
		alias_ipv6_to_ipv4 => 1, remove_reserved_networks => 0);
}
my $asn = tree('GeoLite2-ASN');
my $country = tree('GeoLite2-Country');
my @names;

open my $in, '<', $world or die "$world: $!\n";
my $header = 1;
while (my $line = <$in>) {
	chomp $line;
	next if $line =~ /^\s*(#|$)/;
	if ($header) { $header = 0; next; }
	my ($number, $name, $cc, $weight, $reach, $prefixes) = split /,/, $line, 6;
	die "$world:$.: expected asn,name,country,weight,reach,prefixes\n"
		unless defined $prefixes && $number =~ /^\d+$/ && $cc =~ /^[A-Z]{2}$/;
	push @names, "$number,\"$name\"";
	for my $p (split ' ', $prefixes) {
		$asn->insert_network($p, {autonomous_system_number => $number + 0,
			autonomous_system_organization => $name});
		$country->insert_network($p, {country => {iso_code => $cc}});
	}
}
close $in;

sub write_tree {
	my ($tree, $path) = @_;
	open my $fh, '>:raw', "$path.tmp" or die "$path.tmp: $!\n";
	$tree->write_tree($fh);
	close $fh or die "$path.tmp: $!\n";
	rename "$path.tmp", $path or die "$path: $!\n";
}
mkdir $out;
write_tree($asn, "$out/asn.mmdb");
write_tree($country, "$out/country.mmdb");
open my $csv, '>', "$out/asns.csv.tmp" or die "$out/asns.csv.tmp: $!\n";
print $csv "asn,name\n", map { "$_\n" } @names;
close $csv or die "$out/asns.csv.tmp: $!\n";
rename "$out/asns.csv.tmp", "$out/asns.csv" or die "$out/asns.csv: $!\n";
