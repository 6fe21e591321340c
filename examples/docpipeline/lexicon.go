package main

// The sentiment lexicon: small, hand-picked and English only. A word
// scores only in the exact form listed (no stemming), which keeps the
// scorer predictable: what is counted can be read off these lists.

var positiveWords = setOf(`
	achieve achieved achievement admire advantage affordable amazing appreciate
	appreciated award awarded beautiful benefit benefits best better boost boosted
	breakthrough brilliant calm celebrate celebrated clean clear comfortable
	delighted delight easy effective efficient elegant enjoy enjoyed enjoyable
	excellent excited exciting fantastic fast favourite favorite fine fortunate
	friendly gain gains glad good great grew growth happy healthy helpful hope
	hopeful ideal impressive improve improved improvement improvements innovative
	love loved lovely lucky nice optimistic outstanding perfect pleasant pleased
	positive praise praised productive profit profitable progress promising proud
	recommend recommended reliable remarkable resilient robust safe satisfied
	saved savings secure smooth solid strong succeed succeeded success successful
	superb support supported thrilled thriving valuable welcome welcomed win wins
	wonderful`)

var negativeWords = setOf(`
	abandoned angry annoying anxious awful bad broke broken bug bugs buggy
	collapse collapsed complain complaint complaints concern concerned concerns
	confusing costly crash crashed crisis damage damaged danger dangerous decline
	declined defect delay delayed delays difficult disappointed disappointing
	disaster dreadful expensive fail failed failing fails failure fault faulty fear
	fragile frustrated frustrating harm harmful hate hated horrible hurt inadequate
	loss losses mediocre mess negative outage outages pain painful poor problem
	problems risk risky sad scandal severe shortage slow struggle struggled
	struggling terrible threat threats trouble ugly unfortunately unhappy
	unreliable unsafe useless weak worried worry worse worst wrong`)

// negators turn the sentiment of a word that follows them around.
// Contractions ending in "n't" are negators too (see isNegator).
var negators = setOf(`not no never none nobody nothing neither nor without hardly barely
	cannot cant dont doesnt didnt isnt wasnt arent werent wont wouldnt shouldnt couldnt`)
