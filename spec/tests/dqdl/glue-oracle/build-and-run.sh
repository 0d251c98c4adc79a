#!/bin/sh
# Builds Glue's reference DQDL parser (awslabs/dqdl) with Debian's ANTLR and runs Oracle.java
# over .cases files, printing "name<TAB>ACCEPT|REJECT<TAB>detail" per case.
#
#   apt-get install -y antlr4 liblombok-java libjackson2-databind-java libslf4j-java
#   build-and-run.sh /path/to/awslabs-dqdl-checkout spec/tests/dqdl/accepted.cases ...
#
# The checkout's master lacks Range (release/dqdl-1.0.5) and DuplicateRowCount
# (release/dqdl-1.0.6); add their catalogue entries to configuration/rules/rules-config.json
# first to compare those rules too. Not part of CI: it needs that checkout.
set -eu
DQDL=$1; shift
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${ORACLE_WORK:-/tmp/dqdl-oracle}
J=/usr/share/java
CP=$J/antlr4-runtime.jar:$J/jackson-databind.jar:$J/jackson-core.jar:$J/jackson-annotations.jar:$J/slf4j-api.jar
if [ ! -f "$WORK/classes/Oracle.class" ]; then
    rm -rf "$WORK" && mkdir -p "$WORK/gen" "$WORK/classes/rules"
    PKG=com/amazonaws/glue/ml/dataquality/dqdl
    mkdir -p "$WORK/gen/$PKG"
    cp "$DQDL"/configuration/dqdl/*.g4 "$WORK/gen/$PKG/"
    (cd "$WORK/gen/$PKG" && java -cp "$J/antlr4.jar:$J/antlr4-runtime.jar:$J/antlr3-runtime.jar:$J/stringtemplate4.jar" \
        org.antlr.v4.Tool -package com.amazonaws.glue.ml.dataquality.dqdl -listener DataQualityDefinitionLanguage.g4)
    { find "$DQDL/src" "$WORK/gen" -name '*.java'; echo "$HERE/Oracle.java"; } > "$WORK/sources.txt"
    javac -nowarn -proc:full -cp "$CP:$J/lombok.jar" -d "$WORK/classes" @"$WORK/sources.txt"
    cp "$DQDL/configuration/rules/rules-config.json" "$WORK/classes/rules/"
fi
exec java -cp "$WORK/classes:$CP" Oracle "$@" 2>/dev/null
